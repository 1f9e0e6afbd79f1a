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
          "        of the answer; an endpoint with several base URLs\n"
          "        (replicas) is pinged on each of them\n"
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
        const json_t *urls = json_object_get(v, "base_urls");
        if (!urls)
            urls = json_object_get(v, "base_url");
        printf("%-16s provider %-10s model %-24s", k,
               cli_str(v, "provider", "?"), cli_str(v, "model", "?"));
        if (json_is_array(urls))
            for (size_t i = 0; i < json_array_size(urls); i++)
                printf("%s%s", i ? ", " : " ",
                       json_string_value(json_array_get(urls, i))
                           ? json_string_value(json_array_get(urls, i))
                           : "?");
        else
            printf(" %s",
                   json_string_value(urls) ? json_string_value(urls) : "");
        putchar('\n');
    }
    return 0;
}

/* One request through a service made of endpoint `name` = `cfg` alone;
 * `label` (may be NULL) names the replica in the lines printed.  0 ok,
 * 1 the request failed, 2 bad configuration. */
static int ping_one(const json_t *cfg, const char *name, const char *label,
                    const char *prompt, llm_find_plugin_fn find, void *ud)
{
    llm_service *s = NULL;
    assay_error err = {0};
    assay_llm_result r = {0};
    /* only this endpoint, so that a broken other one does not matter */
    json_t *one = json_pack("{s:O}", name, cfg);
    int rc = 2;
    const char *pre = label ? label : "", *sep = label ? ": " : "";
    if (!one ||
        llm_service_create(one, NULL, NULL, "off", find, ud, &s, &err) != 0) {
        fprintf(stderr, "assay llm ping: %s\n",
                one ? err.text : "out of memory");
        goto out;
    }
    assay_llm_message msg = {"user", prompt};
    assay_llm_request req = {.messages = &msg, .n_messages = 1};
    if (llm_service_batch(s, "llm-ping", name, &req, 1, &r, NULL, NULL, &err) !=
        0) {
        fprintf(stderr, "assay llm ping: %s\n", err.text);
        goto out;
    }
    if (r.status != ASSAY_LLM_OK) {
        fprintf(stderr, "assay llm ping: %s: %s%s%s\n", name, pre, sep,
                r.error);
        rc = 1;
        goto out;
    }
    char words[200];
    first_words(r.text, 12, words, sizeof words);
    printf("%s%sok: %.0f ms, %u attempt%s, tokens %u in + %u out, finish "
           "%s\n",
           pre, sep, r.latency_ms, r.attempts, r.attempts == 1 ? "" : "s",
           r.prompt_tokens, r.completion_tokens,
           r.finish_reason[0] ? r.finish_reason : "?");
    printf("%s%sanswer: %s\n", pre, sep, words);
    rc = 0;
out:
    llm_result_clear(&r);
    llm_service_destroy(s);
    json_decref(one);
    return rc;
}

/*
 * Ping endpoint `name`; an endpoint with several base URLs (replicas) is
 * pinged on each of them in turn, so that a dead replica shows.
 */
static int cli_ping(const json_t *endpoints, const char *name,
                    const char *prompt, llm_find_plugin_fn find, void *ud)
{
    llm_service *s = NULL;
    assay_error err = {0};
    json_t *one = NULL, *cfg = json_object_get(endpoints, name);
    json_t *info = NULL;
    int rc = 2;
    if (!cfg) {
        fprintf(stderr, "assay llm ping: no endpoint '%s' in llm:\n", name);
        return 2;
    }
    /* validate the whole endpoint first */
    one = json_pack("{s:O}", name, cfg);
    if (!one ||
        llm_service_create(one, NULL, NULL, "off", find, ud, &s, &err) != 0) {
        fprintf(stderr, "assay llm ping: %s\n",
                one ? err.text : "out of memory");
        goto out;
    }
    info = llm_service_endpoint_info(s, name);
    const json_t *urls = json_object_get(info, "base_urls");
    size_t n = json_array_size(urls);
    printf("endpoint %s: provider %s, model %s, %s", name,
           json_string_value(json_object_get(info, "provider")),
           json_string_value(json_object_get(info, "model")),
           json_string_value(json_object_get(info, "base_url")));
    if (n > 1)
        printf(" and %zu more replica%s", n - 1, n > 2 ? "s" : "");
    putchar('\n');
    fflush(stdout);
    if (n <= 1) {
        rc = ping_one(cfg, name, NULL, prompt, find, ud);
        goto out;
    }
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_deep_copy(cfg);
        const char *url = json_string_value(json_array_get(urls, i));
        if (c)
            json_object_del(c, "base_urls"); /* -1 when absent: fine */
        if (!c || json_object_set_new(c, "base_url", json_string(url)) != 0) {
            json_decref(c);
            fprintf(stderr, "assay llm ping: out of memory\n");
            rc = 2;
            break;
        }
        int r1 = ping_one(c, name, url, prompt, find, ud);
        json_decref(c);
        fflush(stdout);
        if (r1 > rc)
            rc = r1;
    }
out:
    json_decref(info);
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
