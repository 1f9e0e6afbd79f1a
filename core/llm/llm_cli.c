/*
 * core/llm/llm_cli.c - `assay llm ...`: check an endpoint from the
 * command line before a run pays for anything.
 */
#include "llm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cli_usage(FILE *f)
{
    fputs("usage: assay llm ping [EXP.yaml] NAME [--prompt TEXT]\n"
          "       assay llm list [EXP.yaml]\n"
          "  ping  send one request to endpoint NAME (no cache) and print\n"
          "        the model, the latency, the tokens and the first words\n"
          "        of the answer\n"
          "  list  print the endpoints of the experiment\n",
          f);
}

static bool is_config_arg(const char *a)
{
    size_t n = strlen(a);
    return (n > 5 && strcmp(a + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(a + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(a + n - 5, ".json") == 0);
}

/* The first `words` words of `text`, on one line. */
static void first_words(const char *text, int words, char *out, size_t sz)
{
    size_t at = 0;
    int w = 0;
    bool in_word = false;
    for (const char *p = text; *p && at + 4 < sz; p++) {
        bool space = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
        if (space) {
            if (in_word && ++w >= words) {
                memcpy(out + at, " ...", 4);
                at += 4;
                break;
            }
            in_word = false;
            if (at && out[at - 1] != ' ')
                out[at++] = ' ';
            continue;
        }
        in_word = true;
        out[at++] = *p;
    }
    out[at] = '\0';
}

static const char *cli_str(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : def;
}

static int cli_list(const json_t *endpoints)
{
    const char *k;
    json_t *v;
    if (!json_object_size(endpoints)) {
        puts("no LLM endpoints (the experiment has no llm: section)");
        return 0;
    }
    json_object_foreach((json_t *)endpoints, k, v)
    {
        printf("%-16s provider %-10s model %-24s %s\n", k,
               cli_str(v, "provider", "?"), cli_str(v, "model", "?"),
               cli_str(v, "base_url", ""));
    }
    return 0;
}

static int cli_ping(const json_t *endpoints, const char *name,
                    const char *prompt, llm_find_plugin_fn find, void *ud)
{
    llm_service *s = NULL;
    assay_error err = {0};
    assay_llm_result r = {0};
    json_t *one = NULL, *cfg = json_object_get(endpoints, name);
    int rc = 2;
    if (!cfg) {
        fprintf(stderr, "assay llm ping: no endpoint '%s' in llm:\n", name);
        return 2;
    }
    /* only this endpoint, so that a broken other one does not matter */
    one = json_pack("{s:O}", name, cfg);
    if (!one ||
        llm_service_create(one, NULL, NULL, "off", find, ud, &s, &err) != 0) {
        fprintf(stderr, "assay llm ping: %s\n",
                one ? err.text : "out of memory");
        goto out;
    }
    json_t *info = llm_service_endpoint_info(s, name);
    printf("endpoint %s: provider %s, model %s, %s\n", name,
           json_string_value(json_object_get(info, "provider")),
           json_string_value(json_object_get(info, "model")),
           json_string_value(json_object_get(info, "base_url")));
    json_decref(info);
    fflush(stdout);
    assay_llm_message msg = {"user", prompt};
    assay_llm_request req = {.messages = &msg, .n_messages = 1};
    if (llm_service_batch(s, "llm-ping", name, &req, 1, &r, NULL, NULL, &err) !=
        0) {
        fprintf(stderr, "assay llm ping: %s\n", err.text);
        goto out;
    }
    if (r.status != ASSAY_LLM_OK) {
        fprintf(stderr, "assay llm ping: %s: %s\n", name, r.error);
        rc = 1;
        goto out;
    }
    char words[200];
    first_words(r.text, 12, words, sizeof words);
    printf("ok: %.0f ms, %u attempt%s, tokens %u in + %u out, finish %s\n",
           r.latency_ms, r.attempts, r.attempts == 1 ? "" : "s",
           r.prompt_tokens, r.completion_tokens,
           r.finish_reason[0] ? r.finish_reason : "?");
    printf("answer: %s\n", words);
    rc = 0;
out:
    llm_result_clear(&r);
    llm_service_destroy(s);
    json_decref(one);
    return rc;
}

int llm_cli_main(int argc, char **argv, const json_t *endpoints,
                 llm_find_plugin_fn find, void *find_ud)
{
    const char *pos[4] = {0}, *prompt = "Say hello in five words.";
    int npos = 0;
    if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "-h") == 0) {
        cli_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc) {
            prompt = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            cli_usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "assay llm: unknown option %s\n", argv[i]);
            cli_usage(stderr);
            return 2;
        } else if (!is_config_arg(argv[i]) && npos < 4) {
            pos[npos++] = argv[i];
        }
    }
    if (strcmp(argv[0], "list") == 0)
        return cli_list(endpoints);
    if (strcmp(argv[0], "ping") == 0) {
        if (npos != 1) {
            fprintf(stderr, "assay llm ping: name one endpoint\n");
            cli_usage(stderr);
            return 2;
        }
        return cli_ping(endpoints, pos[0], prompt, find, find_ud);
    }
    fprintf(stderr, "assay llm: unknown command '%s'\n", argv[0]);
    cli_usage(stderr);
    return 2;
}
