/*
 * tests/llm/llmtest.c - see llmtest.h.
 */
#include "llmtest.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/assay-llmtest-XXXXXX",
             base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

int fake_start(fake_server *f, const char *config_json)
{
    return fake_start_on(f, 0, config_json);
}

int fake_start_on(fake_server *f, int port, const char *config_json)
{
    const char *exe = getenv("FAKELLM");
    char cfg[600] = "", portarg[16];
    int pfd[2];
    memset(f, 0, sizeof *f);
    if (!exe) {
        fprintf(stderr, "FAKELLM is not set\n");
        return -1;
    }
    if (config_json) {
        char *dir = test_tmpdir();
        if (!dir)
            return -1;
        snprintf(cfg, sizeof cfg, "%s/fake.json", dir);
        free(dir);
        FILE *fp = fopen(cfg, "w");
        if (!fp)
            return -1;
        fputs(config_json, fp);
        fclose(fp);
    }
    snprintf(portarg, sizeof portarg, "%d", port);
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* never outlive a test that failed before fake_stop */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        if (cfg[0])
            execl(exe, exe, "--port", portarg, "--config", cfg, (char *)NULL);
        else
            execl(exe, exe, "--port", portarg, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char line[32] = "";
    size_t at = 0;
    while (at + 1 < sizeof line) {
        ssize_t r = read(pfd[0], line + at, 1);
        if (r <= 0 || line[at] == '\n')
            break;
        at++;
    }
    line[at] = '\0';
    close(pfd[0]);
    f->pid = pid;
    f->port = (int)strtol(line, NULL, 10);
    if (f->port <= 0) {
        fake_stop(f);
        return -1;
    }
    snprintf(f->base_url, sizeof f->base_url, "http://127.0.0.1:%d/v1",
             f->port);
    return 0;
}

void fake_stop(fake_server *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
}

void fake_kill(fake_server *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t buf_write(char *d, size_t s, size_t n, void *ud)
{
    buf *b = ud;
    char *p = realloc(b->p, b->n + s * n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, d, s * n);
    b->p = p;
    b->n += s * n;
    b->p[b->n] = '\0';
    return s * n;
}

static json_t *fake_call(const fake_server *f, const char *path,
                         const char *post)
{
    char url[128];
    buf b = {0};
    json_t *j = NULL;
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
    if (post)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
    long code = 0;
    if (curl_easy_perform(e) == CURLE_OK &&
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
        code == 200)
        j = json_loadb(b.p, b.n, 0, NULL);
    curl_easy_cleanup(e);
    free(b.p);
    return j;
}

json_t *fake_stats(const fake_server *f)
{
    return fake_call(f, "/stats", NULL);
}

int fake_config(const fake_server *f, const char *config_json)
{
    json_t *j = fake_call(f, "/config", config_json);
    int rc = j ? 0 : -1;
    json_decref(j);
    return rc;
}

static const assay_plugin *find_in(const char *env, const char *name)
{
    const char *path = getenv(env);
    if (!path)
        return NULL;
    /* the handle stays open for the whole test process */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return NULL;
    assay_plugin_entry_fn fn;
    *(void **)&fn = dlsym(h, ASSAY_PLUGIN_ENTRY_SYMBOL);
    if (!fn)
        return NULL;
    for (const assay_plugin *const *p = fn(ASSAY_ABI_VERSION); *p; p++)
        if (strcmp((*p)->name, name) == 0)
            return *p;
    return NULL;
}

const assay_plugin *test_find_plugin(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "llm.openai") == 0)
        return find_in("OPENAI_PLUGIN", name);
    if (strcmp(name, "llm.anthropic") == 0)
        return find_in("ANTHROPIC_PLUGIN", name);
    return NULL;
}

json_t *test_endpoints(const char *name, const char *provider,
                       const fake_server *f, const char *extra)
{
    json_t *ep = json_pack("{s:s, s:s, s:s}", "provider", provider, "base_url",
                           f->base_url, "model", "fake-model");
    if (extra) {
        json_t *x = json_loads(extra, 0, NULL);
        if (!x) {
            fprintf(stderr, "bad extra JSON: %s\n", extra);
            json_decref(ep);
            return NULL;
        }
        json_object_update(ep, x);
        json_decref(x);
    }
    return json_pack("{s:o}", name, ep);
}

bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    size_t nl = strlen(needle);
    bool found = false;
    if (!fp)
        return false;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *d = malloc(sz > 0 ? (size_t)sz : 1);
    if (d && sz > 0 && fread(d, 1, (size_t)sz, fp) == (size_t)sz)
        found = memmem(d, (size_t)sz, needle, nl) != NULL;
    free(d);
    fclose(fp);
    return found;
}
