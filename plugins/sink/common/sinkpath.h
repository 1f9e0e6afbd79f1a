/*
 * Output paths of sink plugins: relative to the run directory, and kept
 * inside it unless the user allows otherwise.
 */
#ifndef ASSAY_SINKPATH_H
#define ASSAY_SINKPATH_H

#include <assay/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline int sink_resolve_path(const assay_host *h, const char *path,
                                    bool allow_outside, char *out,
                                    size_t outsz, assay_error *err)
{
    if (!path || !*path)
        return assay_error_set(err, ASSAY_EINVAL, "option 'path' is empty");
    bool dotdot = strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 ||
                  strstr(path, "/../") ||
                  (strlen(path) >= 3 &&
                   strcmp(path + strlen(path) - 3, "/..") == 0);
    if (!allow_outside && (path[0] == '/' || dotdot))
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'path': '%s' leaves the run "
                               "directory; use a relative path, or set "
                               "allow_outside: true",
                               path);
    if (path[0] == '/') {
        if ((size_t)snprintf(out, outsz, "%s", path) >= outsz)
            return assay_error_set(err, ASSAY_EINVAL, "path too long");
        return 0;
    }
    const char *base = h->path(h, ASSAY_PATH_RUN_DIR);
    if (!base)
        base = h->path(h, ASSAY_PATH_SCRATCH_DIR);
    if (!base)
        return assay_error_set(err, ASSAY_EIO, "no run directory");
    if ((size_t)snprintf(out, outsz, "%s/%s", base, path) >= outsz)
        return assay_error_set(err, ASSAY_EINVAL, "path too long");
    if (strchr(path, '/'))
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'path': '%s': write to a file "
                               "directly in the run directory (no "
                               "sub-folders)",
                               path);
    return 0;
}

/* The temporary file a sink writes before renaming it into place:
 * created afresh (a stale one of a crashed attempt is removed first) and
 * never through a symbolic link planted under its name. */
static inline FILE *sink_open_tmp(const char *tmp)
{
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0644);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

#endif
