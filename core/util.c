#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int sb_grow(strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *nb = realloc(sb->buf, cap);
    if (!nb) {
        sb->oom = true;
        return ASSAY_ENOMEM;
    }
    sb->buf = nb;
    sb->cap = cap;
    return 0;
}

int sb_append(strbuf *sb, const char *s, size_t n)
{
    if (sb_grow(sb, n))
        return ASSAY_ENOMEM;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
    return 0;
}

int sb_puts(strbuf *sb, const char *s)
{
    return sb_append(sb, s, strlen(s));
}

int sb_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ASSAY_EINVAL;
    if ((size_t)n < sizeof tmp)
        return sb_append(sb, tmp, (size_t)n);
    if (sb_grow(sb, (size_t)n))
        return ASSAY_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
    return 0;
}

char *sb_steal(strbuf *sb)
{
    char *b = sb->buf;
    if (!b)
        b = calloc(1, 1);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return b;
}

void sb_free(strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

char *util_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int util_read_file(const char *path, char **data, size_t *len,
                   assay_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot open: %s", path,
                               strerror(errno));
    strbuf sb = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (sb_append(&sb, chunk, n)) {
            fclose(f);
            sb_free(&sb);
            return assay_error_set(err, ASSAY_ENOMEM, "%s: out of memory",
                                   path);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        sb_free(&sb);
        return assay_error_set(err, ASSAY_EIO, "%s: read error", path);
    }
    if (len)
        *len = sb.len;
    *data = sb_steal(&sb);
    if (!*data)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

int util_write_atomic(const char *path, const void *data, size_t len,
                      assay_error *err)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return assay_error_set(err, ASSAY_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot create: %s", tmp,
                               strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return assay_error_set(err, ASSAY_EIO, "%s: write failed: %s",
                                   tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return assay_error_set(err, ASSAY_EIO, "%s: fsync failed: %s", tmp,
                               strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return assay_error_set(err, ASSAY_EIO, "%s: rename failed: %s", path,
                               strerror(e));
    }
    return 0;
}

int util_mkdirs(const char *path, assay_error *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return assay_error_set(err, ASSAY_EINVAL, "bad directory path '%s'",
                               path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return assay_error_set(err, ASSAY_EIO,
                                   "cannot create directory %s: %s", buf,
                                   strerror(errno));
        buf[i] = c;
    }
    if (!util_is_dir(path))
        return assay_error_set(err, ASSAY_EIO, "%s exists and is not a "
                                               "directory", path);
    return 0;
}

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int util_rmtree(const char *path)
{
    if (nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return -errno;
    return 0;
}

int util_path_join(char *out, size_t outsz, const char *a, const char *b)
{
    int n;
    if (b[0] == '/' || !a || !a[0])
        n = snprintf(out, outsz, "%s", b);
    else if (a[strlen(a) - 1] == '/')
        n = snprintf(out, outsz, "%s%s", a, b);
    else
        n = snprintf(out, outsz, "%s/%s", a, b);
    return (n < 0 || (size_t)n >= outsz) ? ASSAY_EINVAL : 0;
}

void util_dirname(const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, outsz, ".");
        return;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1;
    snprintf(out, outsz, "%.*s", (int)n, path);
}

int util_realpath(const char *path, char *out, size_t outsz)
{
    char tmp[PATH_MAX];
    if (!realpath(path, tmp))
        return -errno;
    if (strlen(tmp) >= outsz)
        return ASSAY_EINVAL;
    memcpy(out, tmp, strlen(tmp) + 1);
    return 0;
}

bool util_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool util_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

size_t util_edit_distance(const char *a, const char *b, size_t cap)
{
    /* optimal string alignment: Levenshtein plus adjacent transpositions,
     * the most common typo ("plsu" -> "plus" is one edit, not two) */
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap;
    size_t rows[3][65];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            size_t m = sub < del ? sub : del;
            m = m < ins ? m : ins;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && pp[j - 2] + 1 < m)
                m = pp[j - 2] + 1;
            cur[j] = m;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] < cap ? prev[lb] : cap;
}

const char *util_did_you_mean(const char *name, const char *const *cands,
                              size_t n)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1, len = strlen(name);
    size_t limit = len <= 1 ? 0 : len <= 4 ? 1 : len <= 8 ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = util_edit_distance(name, cands[i], limit + 1);
        /* a candidate that merely extends the name also qualifies */
        if (d > limit && strncmp(cands[i], name, len) == 0 && len >= 3)
            d = limit;
        if (d <= limit && d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    return best;
}

double util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void util_iso_time(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool util_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool util_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE || *end)
        return false;
    *out = v;
    return true;
}

unsigned util_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

long util_peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}
