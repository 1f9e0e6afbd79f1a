/*
 * tests/static/cppcheck-macros.h - stand-ins for the loop macros of
 * <jansson.h>, force-included by cppcheck.sh.  cppcheck does not read
 * system headers, so it cannot parse a loop written with these macros;
 * the real header is not given to it either, because its json_is_*()
 * macros test for NULL and make cppcheck suspect a NULL dereference in
 * every later use of the same value.  These loops assign key/index and
 * value the way the real ones do, which is all the analysis needs.
 */
#define json_array_foreach(array, index, value)                               \
    for ((index) = 0; (index) < json_array_size(array) &&                      \
                      ((value) = json_array_get((array), (index))) != NULL;    \
         (index)++)

#define json_object_foreach(object, key, value)                               \
    for ((key) = assay_cppcheck_first_key(object);                             \
         (key) != NULL && ((value) = json_object_get((object), (key))) != NULL; \
         (key) = assay_cppcheck_next_key((object), (key)))
