/*
 * source.interactions through the real host, on small files of every
 * supported layout written to a temporary folder: MovieLens 100K (u.data
 * with Latin-1 u.item and u.user), 1M (ratings.dat / movies.dat), latest
 * (ratings.csv / quoted movies.csv), RecBole atomic files, CSV/TSV with
 * named columns, string ids mapped to dense ids, and the errors for
 * malformed lines and missing columns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "testkit.h"
#include "textio.h"

static const assay_plugin *src_p;
static char dir[256];

static void write_file(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const assay_table *out_table(assay_testkit_tables *o, const char *port)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->ports[i], port) == 0)
            return o->tables[i];
    return NULL;
}

static void free_out(assay_testkit_tables *o)
{
    for (size_t i = 0; i < o->n; i++)
        assay_testkit_table_free(o->tables[i]);
    o->n = 0;
}

/* Run on `file` with extra options (a JSON fragment, may be ""). */
static int run(const char *file, const char *extra, assay_testkit_tables *o,
               json_t **j, assay_error *err)
{
    char opts[1024];
    snprintf(opts, sizeof opts, "{\"path\": \"%s/%s\"%s%s}", dir, file,
             *extra ? ", " : "", extra);
    json_t *res = NULL;
    memset(o, 0, sizeof *o);
    int rc = assay_testkit_run_tables(src_p, opts, NULL, NULL, &res, o, err);
    if (j)
        *j = res;
    else
        json_decref(res);
    return rc;
}

static const int64_t *i64(const assay_table *t, const char *c)
{
    return assay_col_i64(assay_table_col(t, c));
}

static const char *str_at(const assay_table *t, const char *c, size_t r)
{
    const char *const *s = assay_col_str(assay_table_col(t, c));
    assert_non_null(s);
    return s[r];
}

static void test_ml100k(void **state)
{
    (void)state;
    write_file("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
                         "196\t302\t5\t881250950\n");
    /* Latin-1: 0xE9 is e-acute */
    write_file("u.item", "242|Kolya (1996)|24-Jan-1997||http://x|0|0|0|0|0|1|"
                         "0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                         "302|L.A. Confidential (1997)|01-Jan-1997||http://y|"
                         "0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0\n"
                         "999|Caf\xe9 (1990)|01-Jan-1990||u|1|0|0|0|0|0|0|0|"
                         "0|0|0|0|0|0|0|0|0|0|0\n");
    write_file("u.user", "196|49|M|writer|55105\n186|39|F|executive|00000\n");
    assay_testkit_tables o;
    json_t *j = NULL;
    assay_error err = {0};
    assert_int_equal(run("u.data", "", &o, &j, &err), 0);
    const assay_table *t = out_table(&o, "interactions");
    assert_int_equal(t->nrows, 3);
    assert_int_equal(i64(t, "user")[1], 186);
    assert_int_equal(i64(t, "item")[0], 242);
    assert_true(assay_col_f64(assay_table_col(t, "rating"))[2] == 5.0);
    assert_int_equal(i64(t, "timestamp")[0], 881250949);
    const assay_table *items = out_table(&o, "items");
    /* items of the data and of the side file, sorted by id */
    assert_int_equal(items->nrows, 3);
    assert_int_equal(i64(items, "item")[2], 999);
    assert_int_equal(i64(items, "n_interactions")[1], 2);
    assert_string_equal(str_at(items, "title", 0), "Kolya (1996)");
    assert_string_equal(str_at(items, "genres", 0), "Comedy");
    assert_string_equal(str_at(items, "genres", 1),
                        "Crime|Film-Noir|Mystery|Thriller");
    assert_string_equal(str_at(items, "title", 2), "Caf\xc3\xa9 (1990)");
    const assay_table *users = out_table(&o, "users");
    assert_int_equal(users->nrows, 2);
    assert_int_equal(i64(users, "user")[0], 186);
    assert_int_equal(i64(users, "age")[1], 49);
    assert_string_equal(str_at(users, "occupation", 1), "writer");
    /* a zip code with a leading zero keeps the column as strings */
    assert_string_equal(str_at(users, "zip_code", 0), "00000");
    json_t *info = json_object_get(j, "info");
    assert_string_equal(json_string_value(json_object_get(info, "format")),
                        "ml-100k");
    json_decref(j);
    free_out(&o);
    /* side_info: false leaves only ids and counts */
    assert_int_equal(run("u.data", "\"side_info\": false", &o, NULL, &err), 0);
    assert_null(assay_table_col(out_table(&o, "items"), "title"));
    assert_int_equal(out_table(&o, "items")->nrows, 2);
    free_out(&o);
}

static void test_ml1m_and_latest(void **state)
{
    (void)state;
    write_file("ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n"
                              "2::1193::4::978298413\n");
    write_file("movies.dat", "1193::One Flew Over the Cuckoo's Nest (1975)::"
                             "Drama\n661::James and the Giant Peach (1996)::"
                             "Animation|Children's|Musical\n");
    assay_testkit_tables o;
    assay_error err = {0};
    assert_int_equal(run("ratings.dat", "", &o, NULL, &err), 0);
    const assay_table *t = out_table(&o, "interactions");
    assert_int_equal(t->nrows, 3);
    assert_int_equal(i64(t, "item")[1], 661);
    const assay_table *items = out_table(&o, "items");
    assert_string_equal(str_at(items, "genres", 0),
                        "Animation|Children's|Musical");
    free_out(&o);

    char sub[300];
    snprintf(sub, sizeof sub, "%s/latest", dir);
    mkdir(sub, 0755);
    write_file("latest/ratings.csv", "userId,movieId,rating,timestamp\r\n"
                                     "1,1,4.0,964982703\r\n1,3,4.5,"
                                     "964981247\r\n");
    write_file("latest/movies.csv",
               "movieId,title,genres\n1,Toy Story (1995),Adventure|Comedy\n"
               "3,\"Grumpier Old Men, The (1995)\",Comedy|Romance\n"
               "4,\"A \"\"quoted\"\" title\",Drama\n");
    assert_int_equal(run("latest/ratings.csv", "", &o, NULL, &err), 0);
    t = out_table(&o, "interactions");
    assert_true(assay_col_f64(assay_table_col(t, "rating"))[1] == 4.5);
    items = out_table(&o, "items");
    assert_int_equal(items->nrows, 3);
    assert_string_equal(str_at(items, "title", 1),
                        "Grumpier Old Men, The (1995)");
    assert_string_equal(str_at(items, "title", 2), "A \"quoted\" title");
    free_out(&o);
}

static void test_atomic_and_named_columns(void **state)
{
    (void)state;
    write_file("toy.inter", "user_id:token\titem_id:token\trating:float\t"
                            "timestamp:float\n5\t7\t3\t10.5\n5\t8\t4\t11\n");
    write_file("toy.item", "item_id:token\tmovie_title:token_seq\t"
                           "release_year:token\n7\tAlpha\t1999\n8\tBeta\t"
                           "2001\n");
    assay_testkit_tables o;
    assay_error err = {0};
    assert_int_equal(run("toy.inter", "", &o, NULL, &err), 0);
    const assay_table *t = out_table(&o, "interactions");
    /* a fractional timestamp makes the column float64 */
    const assay_column *tc = assay_table_col(t, "timestamp");
    assert_int_equal(tc->type, ASSAY_COL_FLOAT64);
    assert_true(((const double *)tc->data)[0] == 10.5);
    const assay_table *items = out_table(&o, "items");
    assert_string_equal(str_at(items, "movie_title", 1), "Beta");
    assert_int_equal(i64(items, "release_year")[0], 1999);
    free_out(&o);

    /* TSV with custom names, string ids mapped densely */
    write_file("log.tsv", "who\twhat\twhen\tstars\nalice\tB0001\t3\t5\n"
                          "bob\tB0002\t1\t4\nalice\tB0002\t2\t3\n");
    json_t *j = NULL;
    assert_int_equal(run("log.tsv",
                         "\"user_col\": \"who\", \"item_col\": \"what\", "
                         "\"time_col\": \"when\", \"rating_col\": \"stars\"",
                         &o, &j, &err),
                     0);
    t = out_table(&o, "interactions");
    assert_int_equal(i64(t, "user")[0], 0);
    assert_int_equal(i64(t, "user")[1], 1);
    assert_int_equal(i64(t, "user")[2], 0);
    assert_int_equal(i64(t, "item")[2], 1);
    const assay_table *users = out_table(&o, "users");
    assert_string_equal(str_at(users, "user_raw", 1), "bob");
    items = out_table(&o, "items");
    assert_string_equal(str_at(items, "item_raw", 0), "B0001");
    json_t *info = json_object_get(j, "info");
    assert_string_equal(json_string_value(json_object_get(info, "item_ids")),
                        "dense");
    json_decref(j);
    free_out(&o);
    /* ids: keep leaves the strings in place */
    assert_int_equal(run("log.tsv",
                         "\"user_col\": \"who\", \"item_col\": \"what\", "
                         "\"ids\": \"keep\"",
                         &o, NULL, &err),
                     0);
    t = out_table(&o, "interactions");
    assert_string_equal(str_at(t, "item", 1), "B0002");
    assert_null(assay_table_col(t, "timestamp"));
    free_out(&o);
    /* ids: dense applies to integers too */
    assert_int_equal(run("toy.inter", "\"ids\": \"dense\"", &o, NULL, &err), 0);
    t = out_table(&o, "interactions");
    assert_int_equal(i64(t, "item")[1], 1);
    assert_string_equal(str_at(out_table(&o, "items"), "item_raw", 1), "8");
    free_out(&o);
}

static void test_errors(void **state)
{
    (void)state;
    assay_testkit_tables o;
    assay_error err = {0};
    write_file("bad.data", "1\t2\t3\t4\n1\t2\n");
    assert_int_not_equal(run("bad.data", "", &o, NULL, &err), 0);
    assert_non_null(strstr(err.text, "bad.data:2"));
    write_file("bad2.data", "1\t2\tfive\t4\n");
    assert_int_not_equal(run("bad2.data", "", &o, NULL, &err), 0);
    assert_non_null(strstr(err.text, "bad2.data:1"));
    assert_non_null(strstr(err.text, "rating"));
    write_file("nouser.csv", "a,b\n1,2\n");
    assert_int_not_equal(run("nouser.csv", "", &o, NULL, &err), 0);
    assert_non_null(strstr(err.text, "user_col"));
    assert_int_not_equal(
        run("nouser.csv", "\"user_col\": \"zz\"", &o, NULL, &err), 0);
    assert_non_null(strstr(err.text, "'zz'"));
    assert_int_not_equal(run("missing.csv", "", &o, NULL, &err), 0);
    assert_non_null(strstr(err.text, "missing.csv"));
}

/* The helpers underneath: splitting and UTF-8 repair. */
static void test_textio(void **state)
{
    (void)state;
    tio_field f[8];
    char scratch[64];
    const char *l = "a::b::::c";
    assert_int_equal(tio_split(l, strlen(l), TIO_DCOLON, f, 8, scratch), 4);
    assert_int_equal(f[2].len, 0);
    assert_memory_equal(f[3].s, "c", 1);
    l = "\"x,y\",,\"\"\"q\"\"\"";
    assert_int_equal(tio_split(l, strlen(l), TIO_COMMA, f, 8, scratch), 3);
    assert_int_equal(f[0].len, 3);
    assert_memory_equal(f[0].s, "x,y", 3);
    assert_int_equal(f[1].len, 0);
    assert_memory_equal(f[2].s, "\"q\"", 3);
    int64_t v;
    assert_true(tio_parse_i64((tio_field){" 42 ", 4}, &v) && v == 42);
    assert_false(tio_parse_i64((tio_field){"4.2", 3}, &v));
    assert_true(tio_utf8_valid("caf\xc3\xa9", 5));
    assert_false(tio_utf8_valid("caf\xe9", 4));
    assert_false(tio_utf8_valid("\xc0\x80", 2)); /* overlong */
    char *u;
    size_t n;
    assert_int_equal(tio_to_utf8("\xe9t\xe9", 3, &u, &n), 0);
    assert_string_equal(u, "\xc3\xa9t\xc3\xa9");
    free(u);
    tio_map *m = tio_map_new();
    int64_t id;
    char key[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(tio_map_get(m, key, strlen(key), &id), 0);
        assert_int_equal(id, i);
    }
    assert_int_equal(tio_map_find(m, "k4321", 5), 4321);
    assert_int_equal(tio_map_find(m, "nope", 4), -1);
    assert_string_equal(tio_map_key(m, 17), "k17");
    tio_map_free(m);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/assay-src-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    assay_error err = {0};
    src_p = assay_testkit_load(getenv("PLUGIN"), "source.interactions", &err);
    if (!src_p) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ml100k),
        cmocka_unit_test(test_ml1m_and_latest),
        cmocka_unit_test(test_atomic_and_named_columns),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_textio),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
