#include "plugcheck.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "hostapi.h"
#include "options.h"
#include "registry.h"
#include "table.h"
#include "util.h"
#include "value.h"

typedef struct report {
    int problems; /* failures that make the check fail */
    int warnings;
    bool verbose;
} report;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void say(report *r, int kind, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (kind == 2)
        r->problems++;
    else if (kind == 1)
        r->warnings++;
    printf("  %s %s\n", kind == 2 ? "FAIL" : kind == 1 ? "warn" : "ok  ",
           msg);
}

/* ---- ELF: exported and undefined dynamic symbols ---------------------- */

static int check_symbols(const char *path, report *r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        if (fd >= 0)
            close(fd);
        say(r, 2, "cannot read %s as ELF", path);
        return -1;
    }
    unsigned char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
                            fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        say(r, 2, "cannot map %s", path);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size) {
        munmap(m, size);
        say(r, 2, "not a 64-bit ELF shared object");
        return -1;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
    const Elf64_Shdr *dynsym = NULL;
    for (size_t i = 0; i < eh->e_shnum; i++)
        if (sh[i].sh_type == SHT_DYNSYM)
            dynsym = &sh[i];
    if (!dynsym || dynsym->sh_link >= eh->e_shnum ||
        dynsym->sh_offset + dynsym->sh_size > size) {
        munmap(m, size);
        say(r, 2, "no dynamic symbol table");
        return -1;
    }
    const Elf64_Shdr *strs = &sh[dynsym->sh_link];
    const char *names = (const char *)(m + strs->sh_offset);
    const Elf64_Sym *syms = (const Elf64_Sym *)(m + dynsym->sh_offset);
    size_t n = dynsym->sh_size / sizeof(Elf64_Sym);
    strbuf extra = {0}, hostsyms = {0};
    bool entry = false;
    for (size_t i = 1; i < n; i++) {
        if (syms[i].st_name >= strs->sh_size)
            continue;
        const char *nm = names + syms[i].st_name;
        int bind = ELF64_ST_BIND(syms[i].st_info);
        int vis = ELF64_ST_VISIBILITY(syms[i].st_other);
        int type = ELF64_ST_TYPE(syms[i].st_info);
        if (syms[i].st_shndx == SHN_UNDEF) {
            if (strncmp(nm, "assay_", 6) == 0)
                sb_printf(&hostsyms, "%s%s", hostsyms.len ? ", " : "", nm);
            continue;
        }
        if ((bind != STB_GLOBAL && bind != STB_WEAK) || vis != STV_DEFAULT ||
            type == STT_SECTION)
            continue;
        if (strcmp(nm, "assay_plugin_entry") == 0)
            entry = true;
        else if (strcmp(nm, "_init") && strcmp(nm, "_fini") &&
                 strcmp(nm, "_edata") && strcmp(nm, "_end") &&
                 strcmp(nm, "__bss_start"))
            sb_printf(&extra, "%s%s", extra.len ? ", " : "", nm);
    }
    munmap(m, size);
    if (!entry)
        say(r, 2, "does not export assay_plugin_entry");
    if (extra.len)
        say(r, 2, "exports more than the entry symbol: %s (build with "
                  "-fvisibility=hidden)", extra.buf);
    if (hostsyms.len)
        say(r, 2, "needs host symbols: %s (plugins reach the host only "
                  "through the assay_host vtable)", hostsyms.buf);
    if (entry && !extra.len && !hostsyms.len)
        say(r, 0, "exports only assay_plugin_entry and needs no host symbol");
    sb_free(&extra);
    sb_free(&hostsyms);
    return 0;
}

/* ---- docs ------------------------------------------------------------- */

static void check_docs(const assay_plugin *p, report *r)
{
    int missing = 0;
    for (const assay_port *q = p->inputs; q && q->name; q++)
        if (!q->doc || !*q->doc) {
            say(r, 1, "input '%s' has no doc line", q->name);
            missing++;
        }
    for (const assay_port *q = p->outputs; q && q->name; q++)
        if (!q->doc || !*q->doc) {
            say(r, 1, "output '%s' has no doc line", q->name);
            missing++;
        }
    for (const assay_option *o = p->options; o && o->name; o++)
        if (!o->doc || !*o->doc) {
            say(r, 1, "option '%s' has no doc line", o->name);
            missing++;
        }
    if (!p->doc || strlen(p->doc) < 40) {
        say(r, 1, "the descriptor's doc (the manual of `assay plugins info`) "
                  "is missing or very short");
        missing++;
    }
    if (!missing)
        say(r, 0, "every port and option is documented");
}

/* ---- the mock host ---------------------------------------------------- */

static const char *const ANSWERS[] = {
    "Both answers are reasonable; the first is more complete.\n[[A]]",
    "Rating: [[7]]",
    "[\"The Matrix (1999)\", \"Toy Story (1995)\", \"Heat (1995)\"]",
    "{\"label\": \"positive\", \"attributes\": {\"topic\": \"test\"}}",
    "I cannot follow the requested format.",
    ""};

static void mock_result(assay_llm_result *res, size_t i)
{
    memset(res, 0, sizeof *res);
    const char *a = ANSWERS[i % (sizeof ANSWERS / sizeof *ANSWERS)];
    res->status = ASSAY_LLM_OK;
    res->text = strdup(a);
    if (!res->text) {
        res->status = ASSAY_LLM_FAILED;
        snprintf(res->error, sizeof res->error, "out of memory");
    }
    snprintf(res->finish_reason, sizeof res->finish_reason, "stop");
    res->prompt_tokens = 10;
    res->completion_tokens = (uint32_t)(strlen(a) / 4 + 1);
    res->attempts = 1;
    if (i % 7 == 6) { /* every seventh request fails, as real ones do */
        free(res->text);
        res->text = NULL;
        res->status = ASSAY_LLM_FAILED;
        snprintf(res->error, sizeof res->error, "mock: HTTP 500 after 3 "
                                                "attempts");
        res->http_status = 500;
    }
}

static int mock_batch(const assay_host *h, const char *endpoint,
                      const assay_llm_request *reqs, size_t n,
                      assay_llm_result *res, assay_error *err)
{
    (void)h, (void)endpoint, (void)reqs, (void)err;
    for (size_t i = 0; i < n; i++)
        mock_result(&res[i], i);
    return 0;
}

struct assay_llm_stream {
    size_t next, total;
};

static int mock_stream_add(assay_llm_stream *s, const assay_llm_request *req,
                           size_t *index, assay_error *err)
{
    (void)req;
    if (s->total > 100000)
        return assay_error_set(err, ASSAY_EINVAL, "too many requests");
    if (index)
        *index = s->total;
    s->total++;
    return 0;
}

static int mock_stream(const assay_host *h, const char *endpoint,
                       const assay_llm_request *reqs, size_t n,
                       assay_llm_on_result cb, void *ud, assay_error *err)
{
    (void)h, (void)endpoint, (void)reqs, (void)err;
    assay_llm_stream s = {0, n};
    while (s.next < s.total) {
        assay_llm_result r;
        mock_result(&r, s.next);
        int rc = cb(ud, &s, s.next, &r);
        free(r.text);
        s.next++;
        if (rc)
            return rc;
    }
    return 0;
}

static int mock_embed(const assay_host *h, const char *endpoint,
                      const char *const *texts, size_t n, double **vectors,
                      size_t *dim, assay_error *err)
{
    (void)h, (void)endpoint;
    *dim = 8;
    *vectors = calloc(n ? n * 8 : 1, sizeof **vectors);
    if (!*vectors)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 8; k++)
            (*vectors)[i * 8 + k] =
                (double)((strlen(texts[i]) * 31 + k * 7) % 13) / 13.0;
    return 0;
}

static json_t *mock_info(const assay_host *h, const char *endpoint)
{
    (void)h;
    return json_pack("{ss ss ss}", "name", endpoint ? endpoint : "mock",
                     "provider", "mock", "model", "mock-model");
}

/* Allocation failures: jansson's allocator fails after `budget` calls. */
static long alloc_budget = -1;

static void *failing_malloc(size_t n)
{
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(n);
}

/* A value for a required option so that the plugin can be created. */
static json_t *placeholder(const assay_option *o)
{
    switch (o->type) {
    case ASSAY_OPT_INT: return json_integer(o->has_min ? (json_int_t)o->min : 1);
    case ASSAY_OPT_FLOAT: return json_real(o->has_min ? o->min : 1.0);
    case ASSAY_OPT_BOOL: return json_false();
    case ASSAY_OPT_ENUM: {
        char c[128];
        snprintf(c, sizeof c, "%s", o->choices ? o->choices : "");
        char *bar = strchr(c, '|');
        if (bar)
            *bar = '\0';
        return json_string(c);
    }
    case ASSAY_OPT_LIST: return json_array();
    case ASSAY_OPT_OBJECT: return json_object();
    case ASSAY_OPT_STRING: {
        /* names that usually hold a field, a path or an endpoint */
        if (strstr(o->name, "path") || strstr(o->name, "file"))
            return json_string("/nonexistent/plugin-check-input");
        if (strstr(o->name, "llm") || strstr(o->name, "endpoint"))
            return json_string("mock");
        return json_string("x");
    }
    default: return json_string("mock");
    }
}

typedef enum scenario {
    SC_EMPTY,     /* every input connected to an empty value */
    SC_MALFORMED, /* records that lack every expected field */
    SC_CANCELLED, /* cancelled before it starts */
    SC_ALLOC      /* allocations fail after alloc_budget */
} scenario;

static const char *const SC_NAMES[] = {"empty inputs", "malformed records",
                                       "cancelled run", "failing allocation"};

/* Run one scenario in a forked child; returns 0 ok/refused cleanly, 1 if
 * the child crashed, hung or broke the contract; msg says what happened. */
static int run_scenario(const assay_plugin *p, scenario sc, long budget,
                        char *msg, size_t msgsz)
{
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(msg, msgsz, "pipe: %s", strerror(errno));
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, msgsz, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return 1;
    }
    if (pid == 0) {
        close(fd[0]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 2);
            close(devnull);
        }
        char out[1024];
        static atomic_bool cancel;
        atomic_store(&cancel, sc == SC_CANCELLED);
        json_t *given = json_object();
        for (const assay_option *o = p->options; o && o->name; o++)
            if (o->required)
                json_object_set_new(given, o->name, placeholder(o));
        diag d = {0};
        json_t *opts = NULL;
        if (options_resolve(p, given, NULL, "check", 0, 0, "plugin-check",
                            &d, &opts)) {
            char buf[900];
            diag_first(&d, buf, sizeof buf);
            snprintf(out, sizeof out, "R options: %s", buf);
            ssize_t w = write(fd[1], out, strlen(out));
            (void)w;
            _exit(0);
        }
        char tmpd[] = "/tmp/assay-check-XXXXXX";
        const char *dir = mkdtemp(tmpd);
        node_ctx nc;
        node_ctx_init(&nc, "check", p, 1, 2, dir ? dir : "/tmp", dir, dir,
                      &cancel);
        nc.echo_level = -1;
        nc.host.llm_batch = mock_batch;
        nc.host.llm_stream = mock_stream;
        nc.host.llm_stream_add = mock_stream_add;
        nc.host.embed = mock_embed;
        nc.host.llm_endpoint_info = mock_info;
        assay_io *io = io_new(&nc, p);
        for (size_t i = 0; io && i < io->nin; i++) {
            assay_type t = p->inputs[i].type;
            json_t *recs = json_array();
            if (sc == SC_MALFORMED) {
                json_array_append_new(recs, json_pack("{si ss}", "zz_unknown",
                                                      1, "id", "x"));
                json_array_append_new(recs, json_pack("{sn}", "zz_other"));
            }
            if (t == ASSAY_T_JSON)
                io->in[i] = value_new_json(
                    ASSAY_T_JSON,
                    sc == SC_MALFORMED ? json_pack("{ss}", "unexpected", "x")
                                       : json_object());
            else if (t == ASSAY_T_TABLE) {
                assay_table *tb = NULL;
                if (sc == SC_MALFORMED)
                    table_from_records(recs, &tb, NULL);
                io->in[i] = value_new_table(tb ? tb : table_new(0));
            } else
                io->in[i] = value_new_json(ASSAY_T_RECORDS, json_incref(recs));
            json_decref(recs);
        }
        if (sc == SC_ALLOC) {
            alloc_budget = budget;
            json_set_alloc_funcs(failing_malloc, free);
        }
        assay_error err = {0};
        int rc = io ? exec_plugin(&nc, opts, io, NULL, &err) : ASSAY_ENOMEM;
        if (sc == SC_ALLOC) {
            alloc_budget = -1;
        }
        if (rc == 0)
            snprintf(out, sizeof out, "K finished");
        else
            snprintf(out, sizeof out, "R %s: %s", assay_strerror(rc),
                     err.text[0] ? err.text : "(no message)");
        ssize_t w = write(fd[1], out, strlen(out));
        (void)w;
        if (dir)
            util_rmtree(dir);
        _exit(0);
    }
    close(fd[1]);
    char buf[1024];
    size_t got = 0;
    double t0 = util_now();
    int status = 0;
    bool hung = false;
    for (;;) {
        ssize_t r = read(fd[0], buf + got, sizeof buf - 1 - got);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        if (util_now() - t0 > 20) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            hung = true;
            break;
        }
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    close(fd[0]);
    buf[got] = '\0';
    if (hung) {
        snprintf(msg, msgsz, "did not return within 20 s");
        return 1;
    }
    if (WIFSIGNALED(status)) {
        snprintf(msg, msgsz, "crashed: signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        return 1;
    }
    if (!got) {
        snprintf(msg, msgsz, "left the process (exit status %d)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 1;
    }
    snprintf(msg, msgsz, "%s", buf + 2);
    return 0;
}

static void check_runs(const assay_plugin *p, report *r, long sweep)
{
    char msg[1024];
    for (int sc = SC_EMPTY; sc <= SC_CANCELLED; sc++) {
        if (run_scenario(p, (scenario)sc, -1, msg, sizeof msg))
            say(r, 2, "%s: %s", SC_NAMES[sc], msg);
        else
            say(r, 0, "%s: %s", SC_NAMES[sc], msg);
    }
    if (sweep <= 0)
        return;
    int crashes = 0, runs = 0;
    char first[1024] = "";
    for (long b = 0; b < sweep; b = b < 8 ? b + 1 : b * 2) {
        runs++;
        if (run_scenario(p, SC_ALLOC, b, msg, sizeof msg)) {
            if (!crashes++)
                snprintf(first, sizeof first, "after %ld allocations: %s", b,
                         msg);
        }
    }
    if (crashes)
        say(r, 2, "failing allocations: %d of %d runs broke, first %s",
            crashes, runs, first);
    else
        say(r, 0, "failing allocations: %d runs (the n-th JSON allocation "
                  "fails), no crash",
            runs);
}

static const char HELP[] =
    "usage: assay plugin-check FILE.so... [--no-run] [--sweep N]\n"
    "\n"
    "Check plugin files the way the host will use them: descriptors (names,\n"
    "kinds, ports, option schemas whose defaults pass their own checks),\n"
    "docs for every port and option, that the file exports only\n"
    "assay_plugin_entry and needs no host symbol, and - each in a forked\n"
    "worker against a mock host with scripted LLM answers - runs with\n"
    "empty inputs, malformed records, a cancelled run and failing\n"
    "allocations (up to N, default 256).  A plugin may refuse bad input\n"
    "with an error; it fails the check when it crashes, hangs or exits.\n"
    "Exit status 0 when every file passes, 1 otherwise, 2 on bad usage.\n";

int plugcheck_main(int argc, char **argv)
{
    bool run = true;
    long sweep = 256;
    const char *files[256];
    size_t nf = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(HELP, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--no-run"))
            run = false;
        else if (!strcmp(argv[i], "--sweep") && i + 1 < argc) {
            int64_t v;
            if (!util_parse_i64(argv[++i], &v) || v < 0) {
                fprintf(stderr, "assay plugin-check: --sweep expects a "
                                "number\n");
                return 2;
            }
            sweep = (long)v;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "assay plugin-check: unknown option '%s'\n%s",
                    argv[i], HELP);
            return 2;
        } else if (nf < 256)
            files[nf++] = argv[i];
    }
    if (!nf) {
        fputs(HELP, stderr);
        return 2;
    }
    report total = {0};
    for (size_t f = 0; f < nf; f++) {
        report r = {0};
        printf("%s\n", files[f]);
        registry *reg = registry_new();
        assay_error err;
        if (!reg || registry_load_file(reg, files[f], &err)) {
            say(&r, 2, "%s", reg ? err.text : "out of memory");
            registry_free(reg);
            total.problems += r.problems;
            continue;
        }
        check_symbols(files[f], &r);
        for (size_t i = 0; i < registry_count(reg); i++) {
            const assay_plugin *p = &registry_at(reg, i)->desc;
            printf(" %s %s (%s)\n", p->name, p->version, p->kind);
            say(&r, 0, "descriptor valid (ABI %u.%u, %u-byte struct)",
                ASSAY_ABI_MAJOR_OF(p->abi_version), p->abi_version & 0xffff,
                p->struct_size);
            check_docs(p, &r);
            if (run && strcmp(p->kind, "llm-provider") != 0)
                check_runs(p, &r, sweep);
        }
        registry_free(reg);
        printf(" => %s (%d problem%s, %d warning%s)\n",
               r.problems ? "FAILED" : "passed", r.problems,
               r.problems == 1 ? "" : "s", r.warnings,
               r.warnings == 1 ? "" : "s");
        total.problems += r.problems;
        total.warnings += r.warnings;
    }
    return total.problems ? 1 : 0;
}
