/*
 * tests/bench/llm-throughput/bench_llm.c - throughput of the LLM service.
 *
 *   bench-llm run --base-url URL --plugin LLM_OPENAI_SO --requests N
 *                 --concurrency C [--cache FILE] [--latency-ms L]
 *       sends N distinct short chat requests as one batch through the
 *       service (one endpoint, max_concurrency C) and prints one JSON
 *       line: wall seconds, requests/s, the ideal C / latency, CPU
 *       seconds of this process (user + system, getrusage), CPU per
 *       request and peak RSS.  The server is another process, so its CPU
 *       is not counted.
 *
 *   bench-llm exec -- COMMAND ARGS...
 *       runs COMMAND and prints the same measures for it and every
 *       descendant it waited for (RUSAGE_CHILDREN), for the peer tool;
 *       the command's stdout is sent to stderr.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "llm/llm.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_of(const struct rusage *r)
{
    return (double)r->ru_utime.tv_sec + r->ru_utime.tv_usec * 1e-6 +
           (double)r->ru_stime.tv_sec + r->ru_stime.tv_usec * 1e-6;
}

static const char *plugin_path;

static const assay_plugin *find_openai(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "llm.openai") != 0)
        return NULL;
    void *h = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "bench-llm: %s\n", dlerror());
        return NULL;
    }
    assay_plugin_entry_fn fn;
    *(void **)&fn = dlsym(h, ASSAY_PLUGIN_ENTRY_SYMBOL);
    return fn ? fn(ASSAY_ABI_VERSION)[0] : NULL;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench-llm run --base-url URL --plugin SO --requests N "
            "--concurrency C [--cache FILE] [--latency-ms L] [--tag T]\n"
            "       bench-llm exec -- COMMAND ARGS...\n");
    return 2;
}

static int cmd_run(int argc, char **argv)
{
    const char *url = NULL, *cache = NULL, *tag = "q";
    long n = 1000, conc = 16;
    double lat_ms = 50;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (strcmp(a, "--base-url") == 0)
            url = v;
        else if (strcmp(a, "--plugin") == 0)
            plugin_path = v;
        else if (strcmp(a, "--requests") == 0)
            n = strtol(v, NULL, 10);
        else if (strcmp(a, "--concurrency") == 0)
            conc = strtol(v, NULL, 10);
        else if (strcmp(a, "--cache") == 0)
            cache = v;
        else if (strcmp(a, "--latency-ms") == 0)
            lat_ms = strtod(v, NULL);
        else if (strcmp(a, "--tag") == 0)
            tag = v;
        else
            return usage();
        i++;
    }
    if (!url || !plugin_path || n <= 0 || conc <= 0)
        return usage();

    json_t *eps =
        json_pack("{s:{s:s, s:s, s:s, s:I, s:f}}", "bench", "provider",
                  "openai", "base_url", url, "model", "fake-model",
                  "max_concurrency", (json_int_t)conc, "timeout", 60.0);
    llm_service *s = NULL;
    assay_error err = {0};
    if (llm_service_create(eps, NULL, cache, cache ? "read-write" : "off",
                           find_openai, NULL, &s, &err) != 0) {
        fprintf(stderr, "bench-llm: %s\n", err.text);
        return 1;
    }
    char **text = calloc((size_t)n, sizeof *text);
    assay_llm_message *msgs = calloc((size_t)n, sizeof *msgs);
    assay_llm_request *reqs = calloc((size_t)n, sizeof *reqs);
    assay_llm_result *res = calloc((size_t)n, sizeof *res);
    if (!text || !msgs || !reqs || !res)
        return 1;
    for (long i = 0; i < n; i++) {
        char b[96];
        snprintf(b, sizeof b, "Question %s-%ld: what is %ld plus %ld?", tag, i,
                 i, i + 1);
        text[i] = strdup(b);
        msgs[i] = (assay_llm_message){"user", text[i]};
        reqs[i] = (assay_llm_request){
            .messages = &msgs[i], .n_messages = 1, .item = (size_t)i};
    }

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now_s();
    int rc = llm_service_batch(s, "bench", "bench", reqs, (size_t)n, res, NULL,
                               NULL, &err);
    double wall = now_s() - t0;
    getrusage(RUSAGE_SELF, &r1);
    if (rc) {
        fprintf(stderr, "bench-llm: %s\n", err.text);
        return 1;
    }
    json_t *u = llm_service_usage(s);
    json_t *lat = json_object_get(
        json_object_get(json_object_get(u, "endpoints"), "bench"),
        "latency_ms");
    double p50 = json_number_value(json_object_get(lat, "p50"));
    double p99 = json_number_value(json_object_get(lat, "p99"));
    json_decref(u);
    long ok = 0;
    for (long i = 0; i < n; i++) {
        ok += res[i].status == ASSAY_LLM_OK && res[i].text &&
              strstr(res[i].text, text[i]) != NULL;
        llm_result_clear(&res[i]);
        free(text[i]);
    }
    double cpu = cpu_of(&r1) - cpu_of(&r0);
    double ideal = (double)conc / (lat_ms / 1000.0);
    printf("{\"tool\": \"assay\", \"requests\": %ld, \"ok\": %ld, "
           "\"concurrency\": %ld, \"wall_s\": %.4f, \"req_per_s\": %.1f, "
           "\"ideal_req_per_s\": %.1f, \"of_ideal\": %.4f, \"cpu_s\": %.4f, "
           "\"cpu_us_per_req\": %.2f, \"peak_rss_mb\": %.1f, "
           "\"latency_p50_ms\": %.2f, \"latency_p99_ms\": %.2f}\n",
           n, ok, conc, wall, (double)n / wall, ideal,
           ((double)n / wall) / ideal, cpu, cpu / (double)n * 1e6,
           (double)r1.ru_maxrss / 1024.0, p50, p99);
    free(text);
    free(msgs);
    free(reqs);
    free(res);
    llm_service_destroy(s);
    json_decref(eps);
    return ok == n ? 0 : 1;
}

static int cmd_exec(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[0], "--") != 0)
        return usage();
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        /* the command's own output goes to stderr: stdout carries only
         * the measurement line */
        dup2(2, 1);
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    double wall = now_s() - t0;
    struct rusage r;
    getrusage(RUSAGE_CHILDREN, &r);
    printf("{\"tool\": \"%s\", \"exit\": %d, \"wall_s\": %.4f, "
           "\"cpu_s\": %.4f, \"peak_rss_mb\": %.1f}\n",
           argv[1], WIFEXITED(st) ? WEXITSTATUS(st) : -1, wall, cpu_of(&r),
           (double)r.ru_maxrss / 1024.0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "exec") == 0)
        return cmd_exec(argc - 2, argv + 2);
    return usage();
}
