/*
 * A stand-alone driver for the fuzz harnesses, so that every compiler
 * (gcc included) builds them as plain programs and CI runs them as the
 * `fuzz-smoke` suite: it replays the seed corpus and the regression
 * inputs, then runs a fixed number of seeded random mutations of them.
 * With clang the same harnesses are also linked with libFuzzer (see
 * tests/fuzz/meson.build and run_libfuzzer.sh) for real coverage-guided
 * runs.
 *
 * Command line (libFuzzer's spelling, so one command works for both):
 *     fuzz-NAME [-runs=N] [-seed=S] [-max_len=N] [-dict=FILE] PATH...
 * PATHs are files or directories (read recursively, in name order).
 * Other -flags are ignored.  FUZZ_RUNS in the environment overrides
 * -runs.  When an input crashes the harness it is written to
 * $FUZZ_ARTIFACT (default ./fuzz-crash-input) before the process dies,
 * so that it can be replayed and kept under tests/fuzz/regress/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Provided by the sanitizer runtimes when they are linked in. */
__attribute__((weak)) void __sanitizer_set_death_callback(void (*cb)(void));

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

typedef struct blobs {
    blob *v;
    size_t n, cap;
} blobs;

/* The input being run, for the crash handler (the only file-scope state
 * of this program; it exists because signal handlers take no argument). */
static const uint8_t *cur_data;
static size_t cur_size;
static char artifact[4096] = "fuzz-crash-input";

static void save_current(void)
{
    int fd = open(artifact, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    size_t off = 0;
    while (cur_data && off < cur_size) {
        ssize_t w = write(fd, cur_data + off, cur_size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    static const char msg[] = "fuzz driver: crashing input written to ";
    if (write(2, msg, sizeof msg - 1) < 0 ||
        write(2, artifact, strlen(artifact)) < 0 || write(2, "\n", 1) < 0)
        return;
}

static void on_signal(int sig)
{
    save_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int blobs_push(blobs *b, uint8_t *p, size_t n)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        blob *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return -1;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n].p = p;
    b->v[b->n++].n = n;
    return 0;
}

static int read_whole(const char *path, size_t max_len, blobs *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *p = malloc(max_len ? max_len : 1);
    size_t n = p ? fread(p, 1, max_len, f) : 0;
    fclose(f);
    if (!p || blobs_push(out, p, n)) {
        free(p);
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every regular file under a directory in name order. */
static int load_path(const char *path, size_t max_len, blobs *out, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        /* a seed file that moved costs coverage, not the test */
        fprintf(stderr, "fuzz driver: warning: %s: %s\n", path,
                strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? read_whole(path, max_len, out) : 0;
    if (depth > 4)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(l)))
            rc = -1;
        else
            snprintf(names[n++], l, "%s/%s", path, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = load_path(names[i], max_len, out, depth + 1);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ---- the random source (splitmix64) ------------------------------------ */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t below(uint64_t *s, size_t n)
{
    return n ? (size_t)(rnd(s) % n) : 0;
}

/* ---- dictionaries in libFuzzer's format: name="text" per line --------- */

static int unescape(const char *s, blob *out)
{
    const char *q = strchr(s, '"');
    const char *end = q ? strrchr(q + 1, '"') : NULL;
    if (!q || !end)
        return -1;
    uint8_t *p = malloc((size_t)(end - q) + 1);
    size_t n = 0;
    if (!p)
        return -1;
    for (const char *c = q + 1; c < end; c++) {
        if (*c == '\\' && c + 1 < end) {
            c++;
            if (*c == 'x' && c + 2 < end) {
                char hex[3] = {c[1], c[2], 0};
                p[n++] = (uint8_t)strtoul(hex, NULL, 16);
                c += 2;
            } else
                p[n++] = (uint8_t)*c;
        } else
            p[n++] = (uint8_t)*c;
    }
    out->p = p;
    out->n = n;
    return 0;
}

static int load_dict(const char *path, blobs *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        blob b;
        if (line[0] == '#' || unescape(line, &b))
            continue;
        if (blobs_push(out, b.p, b.n))
            free(b.p);
    }
    fclose(f);
    return 0;
}

/* ---- mutations ---------------------------------------------------------- */

static const char *const INTERESTING[] = {"0",
                                          "-1",
                                          "1e308",
                                          "-1e-308",
                                          "nan",
                                          "inf",
                                          "9223372036854775807",
                                          "-9223372036854775808",
                                          "18446744073709551616",
                                          "4294967296",
                                          "0x7f",
                                          "1.5",
                                          "\"\"",
                                          "null",
                                          "true",
                                          "[]",
                                          "{}",
                                          "\n",
                                          "\\",
                                          "\xc3\xa9",
                                          "\xe2\x80\x9c",
                                          "\xff",
                                          "\"",
                                          "'",
                                          "[[",
                                          "]]",
                                          "${",
                                          "}",
                                          "&a",
                                          "*a",
                                          "- ",
                                          ": ",
                                          "#",
                                          "\t"};

/* Replace [at, at + del) of buf (length *n, capacity cap) with ins[0..k). */
static void splice_in(uint8_t *buf, size_t *n, size_t cap, size_t at,
                      size_t del, const uint8_t *ins, size_t k)
{
    if (at > *n)
        at = *n;
    if (del > *n - at)
        del = *n - at;
    if (*n - del + k > cap)
        k = cap - (*n - del);
    memmove(buf + at + k, buf + at + del, *n - at - del);
    if (k)
        memcpy(buf + at, ins, k);
    *n = *n - del + k;
}

static void mutate(uint8_t *buf, size_t *n, size_t cap, const blobs *corpus,
                   const blobs *dict, uint64_t *s)
{
    uint8_t tmp[64];
    switch (below(s, dict->n ? 10 : 9)) {
    case 0: /* flip a bit */
        if (*n)
            buf[below(s, *n)] ^= (uint8_t)(1u << below(s, 8));
        break;
    case 1: /* overwrite a byte */
        if (*n)
            buf[below(s, *n)] = (uint8_t)rnd(s);
        break;
    case 2: { /* delete a range */
        size_t at = below(s, *n + 1);
        splice_in(buf, n, cap, at, 1 + below(s, 16), NULL, 0);
        break;
    }
    case 3: { /* insert random bytes */
        size_t k = 1 + below(s, 8);
        for (size_t i = 0; i < k; i++)
            tmp[i] = (uint8_t)rnd(s);
        splice_in(buf, n, cap, below(s, *n + 1), 0, tmp, k);
        break;
    }
    case 4: { /* copy a range elsewhere */
        if (!*n)
            break;
        size_t from = below(s, *n), k = 1 + below(s, 32);
        if (k > *n - from)
            k = *n - from;
        if (k > sizeof tmp)
            k = sizeof tmp;
        memcpy(tmp, buf + from, k);
        splice_in(buf, n, cap, below(s, *n + 1), 0, tmp, k);
        break;
    }
    case 5: { /* an interesting token */
        const char *t =
            INTERESTING[below(s, sizeof INTERESTING / sizeof INTERESTING[0])];
        splice_in(buf, n, cap, below(s, *n + 1), below(s, 3),
                  (const uint8_t *)t, strlen(t));
        break;
    }
    case 6: { /* splice with another corpus input */
        if (!corpus->n)
            break;
        const blob *o = &corpus->v[below(s, corpus->n)];
        size_t at = below(s, *n + 1), from = below(s, o->n + 1);
        splice_in(buf, n, cap, at, *n - at, o->p + from, o->n - from);
        break;
    }
    case 7: { /* a long run of one byte (deep nesting, long tokens) */
        if (!*n)
            break;
        uint8_t c = buf[below(s, *n)];
        size_t k = 1 + below(s, 600), at = below(s, *n + 1);
        if (k > cap - *n)
            k = cap - *n;
        memmove(buf + at + k, buf + at, *n - at);
        memset(buf + at, c, k);
        *n += k;
        break;
    }
    case 8: /* truncate */
        *n = below(s, *n + 1);
        break;
    case 9: { /* a dictionary word */
        const blob *w = &dict->v[below(s, dict->n)];
        splice_in(buf, n, cap, below(s, *n + 1), 0, w->p, w->n);
        break;
    }
    }
}

/* Run one input from its own heap copy, so that ASan sees any read past
 * its end. */
static void run_one(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) {
        fprintf(stderr, "fuzz driver: out of memory\n");
        exit(1);
    }
    if (n)
        memcpy(copy, p, n);
    cur_data = copy;
    cur_size = n;
    LLVMFuzzerTestOneInput(copy, n);
    cur_data = NULL;
    free(copy);
}

int main(int argc, char **argv)
{
    unsigned long long runs = 1000, seed = 1;
    size_t max_len = 65536;
    blobs corpus = {0}, dict = {0};
    const char *env = getenv("FUZZ_ARTIFACT");
    if (env && *env)
        snprintf(artifact, sizeof artifact, "%s", env);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "-runs=", 6) == 0)
            runs = strtoull(a + 6, NULL, 10);
        else if (strncmp(a, "-seed=", 6) == 0)
            seed = strtoull(a + 6, NULL, 10);
        else if (strncmp(a, "-max_len=", 9) == 0)
            max_len = (size_t)strtoull(a + 9, NULL, 10);
        else if (strncmp(a, "-dict=", 6) == 0) {
            if (load_dict(a + 6, &dict))
                return 1;
        } else if (a[0] == '-')
            continue;
        else if (load_path(a, max_len, &corpus, 0))
            return 1;
    }
    if ((env = getenv("FUZZ_RUNS")) && *env)
        runs = strtoull(env, NULL, 10);
    if (max_len < 16)
        max_len = 16;

    signal(SIGSEGV, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);
    signal(SIGABRT, on_signal);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(save_current);

    run_one((const uint8_t *)"", 0);
    for (size_t i = 0; i < corpus.n; i++)
        run_one(corpus.v[i].p, corpus.v[i].n);

    uint8_t *buf = malloc(max_len);
    if (!buf)
        return 1;
    uint64_t s = seed;
    for (unsigned long long r = 0; r < runs; r++) {
        size_t n = 0;
        if (corpus.n) {
            const blob *b = &corpus.v[below(&s, corpus.n)];
            n = b->n < max_len ? b->n : max_len;
            memcpy(buf, b->p, n);
        }
        size_t k = 1 + below(&s, 4);
        for (size_t m = 0; m < k; m++)
            mutate(buf, &n, max_len, &corpus, &dict, &s);
        run_one(buf, n);
    }
    printf("fuzz driver: %zu corpus inputs and %llu mutations (seed %llu) "
           "ran without a crash\n",
           corpus.n, runs, seed);
    free(buf);
    for (size_t i = 0; i < corpus.n; i++)
        free(corpus.v[i].p);
    for (size_t i = 0; i < dict.n; i++)
        free(dict.v[i].p);
    free(corpus.v);
    free(dict.v);
    return 0;
}
