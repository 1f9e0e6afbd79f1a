/*
 * SHA-256: FIPS 180-4 / NIST example vectors, the padding boundaries
 * around 55/56/64 bytes, incremental hashing split at every position,
 * and file hashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <assay/error.h>

#include "sha256.h"

static void hex_of(const char *s, size_t n, char out[65])
{
    sha256_hex(s, n, out);
}

static void test_known_vectors(void **state)
{
    (void)state;
    char h[65];
    hex_of("", 0, h);
    assert_string_equal(
        h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, h);
    assert_string_equal(
        h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m448, strlen(m448), h);
    assert_string_equal(
        h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklm"
                       "nhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopq"
                       "rstu";
    hex_of(m896, strlen(m896), h);
    assert_string_equal(
        h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
    (void)state;
    /* one million 'a', fed in uneven pieces */
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    sha256_ctx c;
    sha256_init(&c);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        sha256_update(&c, chunk, n);
        left -= n;
    }
    char h[65];
    sha256_final_hex(&c, h);
    assert_string_equal(
        h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    char *all = malloc(1000000);
    assert_non_null(all);
    memset(all, 'a', 1000000);
    sha256_hex(all, 1000000, h);
    free(all);
    assert_string_equal(
        h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* bytes (i*7+3) & 255, whose digests were computed independently */
static void fill_pattern(unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)((i * 7 + 3) & 255);
}

static void test_padding_boundaries(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        const char *hex;
    } v[] = {
        {55,
         "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
        {56,
         "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
        {63,
         "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
        {64,
         "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
        {65,
         "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
        {119,
         "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
        {120,
         "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
        {127,
         "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
        {128,
         "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
        {1000,
         "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
    };
    unsigned char buf[1000];
    fill_pattern(buf, sizeof buf);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char h[65];
        sha256_hex(buf, v[i].n, h);
        assert_string_equal(h, v[i].hex);
    }
}

static void test_incremental_splits(void **state)
{
    (void)state;
    unsigned char buf[300];
    fill_pattern(buf, sizeof buf);
    char whole[65];
    sha256_hex(buf, sizeof buf, whole);
    /* two pieces, split at every position */
    for (size_t k = 0; k <= sizeof buf; k++) {
        sha256_ctx c;
        char h[65];
        sha256_init(&c);
        sha256_update(&c, buf, k);
        sha256_update(&c, buf + k, sizeof buf - k);
        sha256_final_hex(&c, h);
        assert_string_equal(h, whole);
    }
    /* byte by byte, with empty updates in between */
    sha256_ctx c;
    char h[65];
    sha256_init(&c);
    for (size_t i = 0; i < sizeof buf; i++) {
        sha256_update(&c, buf + i, 1);
        sha256_update(&c, buf, 0);
    }
    sha256_final_hex(&c, h);
    assert_string_equal(h, whole);
    /* three pieces of varying sizes */
    for (size_t a = 0; a < 140; a += 13)
        for (size_t b = a; b < 300; b += 29) {
            sha256_init(&c);
            sha256_update(&c, buf, a);
            sha256_update(&c, buf + a, b - a);
            sha256_update(&c, buf + b, sizeof buf - b);
            sha256_final_hex(&c, h);
            assert_string_equal(h, whole);
        }
    /* the binary digest matches the hex one */
    uint8_t d[32];
    sha256(buf, sizeof buf, d);
    char hx[65];
    for (int i = 0; i < 32; i++)
        snprintf(hx + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hx, whole);
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/assay-sha-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    char h[65];
    assert_int_equal(sha256_file_hex(path, h), 0);
    assert_string_equal(
        h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unlink(path);
    assert_int_equal(sha256_file_hex(path, h), ASSAY_EIO);
    assert_int_equal(sha256_file_hex("/", h), ASSAY_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_incremental_splits),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
