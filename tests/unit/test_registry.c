/*
 * The plugin loader: the test plugins load (several descriptors in one
 * file), every deliberately broken file in $BROKEN_DIR is refused with a
 * message naming the file and the defect, directory scans record problems
 * instead of failing, unsafe files and directories are refused, and the
 * descriptor checks catch each malformed field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <assay/plugin.h>

#include "registry.h"
#include "sha256.h"
#include "util.h"

static const char *env_dir(const char *var)
{
    const char *d = getenv(var);
    if (!d || !*d)
        fail_msg("%s is not set (run through meson test)", var);
    return d;
}

/* ASSAY_PLUGIN_PATH is the test plugins' build directory. */
static void test_plugins_path(char *out, size_t n)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", env_dir("ASSAY_PLUGIN_PATH"));
    char *colon = strchr(dir, ':');
    if (colon)
        *colon = '\0';
    snprintf(out, n, "%s/test-plugins.so", dir);
}

static void test_load_test_plugins(void **state)
{
    (void)state;
    char so[4096];
    test_plugins_path(so, sizeof so);
    registry *r = registry_new();
    assert_non_null(r);
    assay_error err = {0};
    assert_int_equal(registry_load_file(r, so, &err), 0);
    assert_int_equal(registry_count(r), 6);
    static const char *const want[] = {"test.add",  "test.fail",
                                       "test.noop", "test.source",
                                       "test.sum",  "test.table"};
    size_t n;
    const char *const *names = registry_names(r, &n);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(names[i], want[i]);
    const plugin_entry *e = registry_find(r, "test.add");
    assert_non_null(e);
    assert_string_equal(e->desc.kind, "transform");
    assert_string_equal(e->desc.version, "1.0.0");
    assert_int_equal(e->desc.abi_version, ASSAY_ABI_VERSION);
    assert_non_null(e->desc.run);
    assert_string_equal(e->desc.inputs[0].name, "items");
    assert_true(e->desc.flags & ASSAY_F_PER_ITEM);
    char abs[4096];
    assert_int_equal(util_realpath(so, abs, sizeof abs), 0);
    assert_string_equal(e->path, abs);
    /* the file hash is computed on demand and matches the file */
    assert_int_equal(registry_hash(r, e), 0);
    char hex[65];
    assert_int_equal(sha256_file_hex(so, hex), 0);
    assert_string_equal(e->sha256, hex);
    assert_int_equal(registry_hash(r, e), 0); /* twice is fine */
    assert_null(registry_find(r, "test.missing"));
    assert_null(registry_find(r, "test"));
    assert_non_null(registry_at(r, 5));
    assert_null(registry_at(r, 6));
    /* loading the same file again (also through a symlink) adds nothing */
    assert_int_equal(registry_load_file(r, so, &err), 0);
    char tmpd[] = "/tmp/assay-reg-XXXXXX";
    assert_non_null(mkdtemp(tmpd));
    char link_path[4200];
    snprintf(link_path, sizeof link_path, "%s/alias.so", tmpd);
    assert_int_equal(symlink(abs, link_path), 0);
    assert_int_equal(registry_load_file(r, link_path, &err), 0);
    assert_int_equal(registry_add_dir(r, tmpd, &err), 0);
    assert_int_equal(registry_count(r), 6);
    assert_int_equal(registry_nproblems(r), 0);
    util_rmtree(tmpd);
    registry_free(r);
}

typedef struct broken_case {
    const char *file;
    int code;
    const char *text; /* after "<abs path>: " */
} broken_case;

static void test_broken_files(void **state)
{
    (void)state;
    const char *dir = env_dir("BROKEN_DIR");
    char dup_a[4096];
    snprintf(dup_a, sizeof dup_a, "%s/broken-dup_a.so", dir);
    char dup_a_abs[4096];
    assert_int_equal(util_realpath(dup_a, dup_a_abs, sizeof dup_a_abs), 0);
    char dup_msg[4400];
    snprintf(dup_msg, sizeof dup_msg,
             "plugin 'test.dup' is already provided by %s; the second file "
             "is ignored",
             dup_a_abs);
    const broken_case cases[] = {
        {"broken-abi.so", ASSAY_EABI,
         "plugin ABI 2.0 does not match the host's ABI 1.0; rebuild it "
         "against assay-sdk 1.x"},
        {"broken-small.so", ASSAY_EABI,
         "descriptor struct_size 16 is smaller than the minimum *"},
        {"broken-bad_name.so", ASSAY_EINVAL,
         "plugin name 'Bad Name!' is not [a-z0-9_.-]+"},
        {"broken-null_run.so", ASSAY_EINVAL,
         "plugin 'test.broken' has a NULL run callback"},
        {"broken-no_entry.so", ASSAY_EINVAL,
         "not an assay plugin (no 'assay_plugin_entry' symbol)"},
        {"broken-empty.so", ASSAY_EINVAL,
         "'assay_plugin_entry' returned no plugins"},
        {"broken-bad_default.so", ASSAY_EINVAL,
         "plugin 'test.broken': default of option 'k' expects an integer, "
         "got string 'ten'"},
        {"broken-not-elf.so", ASSAY_EINVAL, "not a loadable shared object: *"},
        {"broken-dup_b.so", ASSAY_EINVAL, dup_msg},
    };
    registry *r = registry_new();
    assay_error err;
    /* dup_a alone is a good file */
    assert_int_equal(registry_load_file(r, dup_a, &err), 0);
    assert_non_null(registry_find(r, "test.dup"));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[4096], abs[4096], want[8192];
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
        assert_int_equal(util_realpath(path, abs, sizeof abs), 0);
        snprintf(want, sizeof want, "%s: %s", abs, cases[i].text);
        memset(&err, 0, sizeof err);
        int rc = registry_load_file(r, path, &err);
        if (rc != cases[i].code)
            fail_msg("%s: code %d, expected %d (%s)", cases[i].file, rc,
                     cases[i].code, err.text);
        assert_int_equal(err.code, cases[i].code);
        size_t wl = strlen(want);
        if (want[wl - 1] == '*')
            assert_int_equal(strncmp(err.text, want, wl - 1), 0);
        else
            assert_string_equal(err.text, want);
    }
    /* nothing of the broken files was registered */
    assert_int_equal(registry_count(r), 1);
    /* a missing file */
    assert_int_equal(registry_load_file(r, "/nonexistent/x.so", &err),
                     ASSAY_EIO);
    assert_string_equal(err.text, "/nonexistent/x.so: no such plugin file");
    registry_free(r);
}

static void test_scan_broken_dir(void **state)
{
    (void)state;
    const char *dir = env_dir("BROKEN_DIR");
    registry *r = registry_new();
    assay_error err;
    /* a scan never fails because of bad files; it records them */
    assert_int_equal(registry_add_dir(r, dir, &err), 0);
    assert_int_equal(registry_count(r), 1);
    assert_non_null(registry_find(r, "test.dup"));
    assert_int_equal(registry_nproblems(r), 9);
    /* sorted file order: abi, bad_default, bad_name, dup_b, empty, ... */
    static const char *const order[] = {
        "broken-abi.so",     "broken-bad_default.so", "broken-bad_name.so",
        "broken-dup_b.so",   "broken-empty.so",       "broken-no_entry.so",
        "broken-not-elf.so", "broken-null_run.so",    "broken-small.so"};
    for (size_t i = 0; i < 9; i++) {
        const char *p = registry_problem(r, i);
        assert_non_null(p);
        if (!strstr(p, order[i]))
            fail_msg("problem %zu is '%s', expected %s", i, p, order[i]);
        assert_non_null(strstr(p, ": "));
    }
    assert_null(registry_problem(r, 9));
    /* scanning again changes nothing (files already loaded or refused
     * again are recorded again, but nothing is registered twice) */
    assert_int_equal(registry_add_dir(r, dir, &err), 0);
    assert_int_equal(registry_count(r), 1);
    assert_int_equal(registry_add_dir(r, "/nonexistent-dir", &err), ASSAY_EIO);
    assert_string_equal(err.text,
                        "plugin directory /nonexistent-dir does not exist");
    registry_free(r);
}

static void copy_file(const char *from, const char *to)
{
    char *data;
    size_t len;
    assay_error err;
    assert_int_equal(util_read_file(from, &data, &len, &err), 0);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);
}

static void test_unsafe_locations(void **state)
{
    (void)state;
    char so[4096];
    test_plugins_path(so, sizeof so);
    char tmpd[] = "/tmp/assay-reg-XXXXXX";
    assert_non_null(mkdtemp(tmpd));
    char copy[4200];
    snprintf(copy, sizeof copy, "%s/copy.so", tmpd);
    copy_file(so, copy);
    assert_int_equal(chmod(copy, 0666), 0);
    registry *r = registry_new();
    assay_error err;
    assert_int_equal(registry_load_file(r, copy, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "refusing a world-writable plugin "
                                     "file"));
    assert_int_equal(registry_count(r), 0);
    /* a world-writable directory (without the sticky bit) is refused */
    assert_int_equal(chmod(copy, 0644), 0);
    assert_int_equal(chmod(tmpd, 0777), 0);
    assert_int_equal(registry_add_dir(r, tmpd, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "refusing world-writable plugin "
                                     "directory"));
    assert_int_equal(registry_count(r), 0);
    /* with the sticky bit (like /tmp) it is accepted */
    assert_int_equal(chmod(tmpd, 01777), 0);
    assert_int_equal(registry_add_dir(r, tmpd, &err), 0);
    assert_int_equal(registry_count(r), 6);
    assert_int_equal(chmod(tmpd, 0755), 0);
    registry_free(r);
    util_rmtree(tmpd);
}

static void test_defaults_from_env(void **state)
{
    (void)state;
    char old[4096];
    snprintf(old, sizeof old, "%s", env_dir("ASSAY_PLUGIN_PATH"));
    char val[8400];
    snprintf(val, sizeof val, "/nonexistent-a::%s", old);
    setenv("ASSAY_PLUGIN_PATH", val, 1);
    registry *r = registry_new();
    assay_error err;
    assert_int_equal(registry_add_defaults(r, &err), 0);
    assert_non_null(registry_find(r, "test.sum"));
    bool seen = false;
    for (size_t i = 0; i < registry_nproblems(r); i++)
        if (strcmp(registry_problem(r, i),
                   "ASSAY_PLUGIN_PATH: plugin directory /nonexistent-a does "
                   "not exist") == 0)
            seen = true;
    assert_true(seen);
    registry_free(r);
    setenv("ASSAY_PLUGIN_PATH", old, 1);
}

/* ---- descriptor checks -------------------------------------------------- */

static int c_create(const assay_host *h, const json_t *o, void **s,
                    assay_error *e)
{
    (void)h, (void)o, (void)e;
    *s = NULL;
    return 0;
}
static int c_run(void *s, assay_io *io, assay_error *e)
{
    (void)s, (void)io, (void)e;
    return 0;
}
static void c_destroy(void *s)
{
    (void)s;
}

static const assay_port GOOD_IN[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .doc = "in"}, {0}};

static assay_plugin good(void)
{
    assay_plugin p = {
        ASSAY_PLUGIN_HEADER, .name = "x.good",  .kind = "metric",
        .version = "1.0",    .summary = "good", .inputs = GOOD_IN,
        .create = c_create,  .run = c_run,      .destroy = c_destroy};
    return p;
}

static void check_bad(const assay_plugin *p, int code, const char *text)
{
    assay_error err = {0};
    assert_int_equal(registry_check_descriptor(p, "f.so", &err), code);
    assert_string_equal(err.text, text);
}

static void test_descriptor_checks(void **state)
{
    (void)state;
    assay_plugin p = good();
    assay_error err;
    assert_int_equal(registry_check_descriptor(&p, "f.so", &err), 0);
    /* a newer minor ABI is accepted */
    p.abi_version = ASSAY_ABI_VERSION + 3;
    assert_int_equal(registry_check_descriptor(&p, "f.so", &err), 0);

    p = good();
    p.name = NULL;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin name '(null)' is not "
              "[a-z0-9_.-]+");
    p.name = "";
    check_bad(&p, ASSAY_EINVAL, "f.so: plugin name '' is not [a-z0-9_.-]+");
    p = good();
    p.kind = "";
    check_bad(&p, ASSAY_EINVAL, "f.so: plugin 'x.good' has no kind");
    p = good();
    p.version = NULL;
    check_bad(&p, ASSAY_EINVAL, "f.so: plugin 'x.good' has no version");
    p = good();
    p.summary = NULL;
    check_bad(&p, ASSAY_EINVAL, "f.so: plugin 'x.good' has no summary");
    p = good();
    p.create = NULL;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good' has a NULL create "
              "callback");
    p = good();
    p.destroy = NULL;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good' has a NULL destroy "
              "callback");

    p = good();
    const assay_port bad_port_name[] = {
        {.name = "Items", .type = ASSAY_T_RECORDS}, {0}};
    p.inputs = bad_port_name;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good': input port name "
              "'Items' is not [a-z0-9_]+");
    const assay_port bad_type[] = {{.name = "out", .type = 9}, {0}};
    p = good();
    p.outputs = bad_type;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good': output port 'out' "
              "has an unknown type 9");
    const assay_port dup[] = {{.name = "a", .type = ASSAY_T_JSON},
                              {.name = "a", .type = ASSAY_T_JSON},
                              {0}};
    p = good();
    p.outputs = dup;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good': duplicate output "
              "port 'a'");

    const assay_option bad_opt_name[] = {{.name = "k-1", .type = ASSAY_OPT_INT},
                                         {0}};
    p = good();
    p.options = bad_opt_name;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good': option name 'k-1' "
              "is not [a-z0-9_]+");
    const assay_option bad_opt_type[] = {{.name = "k", .type = 0}, {0}};
    p.options = bad_opt_type;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good': option 'k' has an "
              "unknown type");
    const assay_option no_choices[] = {{.name = "k", .type = ASSAY_OPT_ENUM},
                                       {0}};
    p.options = no_choices;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good': enum option 'k' has "
              "no choices");
    const assay_option dup_opt[] = {{.name = "k", .type = ASSAY_OPT_INT},
                                    {.name = "k", .type = ASSAY_OPT_BOOL},
                                    {0}};
    p.options = dup_opt;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good': duplicate option "
              "'k'");
    const assay_option bad_def[] = {{.name = "k",
                                     .type = ASSAY_OPT_FLOAT,
                                     .def = "2",
                                     .has_max = true,
                                     .max = 1},
                                    {0}};
    p.options = bad_def;
    check_bad(&p, ASSAY_EINVAL,
              "f.so: plugin 'x.good': default of option "
              "'k' is 2; it must be at most 1");

    /* ABI and size are checked before anything else is read */
    assay_plugin small = {.abi_version = ASSAY_ABI_VERSION, .struct_size = 8};
    assay_error e2;
    assert_int_equal(registry_check_descriptor(&small, "f.so", &e2),
                     ASSAY_EABI);
    assay_plugin old = {.abi_version = 0, .struct_size = sizeof old};
    assert_int_equal(registry_check_descriptor(&old, "f.so", &e2), ASSAY_EABI);
    assert_non_null(strstr(e2.text, "plugin ABI 0.0 does not match"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_test_plugins),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_scan_broken_dir),
        cmocka_unit_test(test_unsafe_locations),
        cmocka_unit_test(test_defaults_from_env),
        cmocka_unit_test(test_descriptor_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
