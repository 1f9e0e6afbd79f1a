#include "ydoc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

#define MAX_NODES 2000000 /* alias expansion cap (billion laughs) */

typedef struct anchor {
    char *name;
    ynode *node;
} anchor;

typedef struct pstate {
    yaml_parser_t p;
    const char *name;
    diag *d;
    const char *text; /* the document, for hints about syntax errors */
    size_t len;
    anchor *anchors;
    size_t nanchors, capanchors;
    size_t nodes;
    bool failed;
} pstate;

static ynode *node_new(ykind k, int line, int col)
{
    ynode *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = k;
        n->line = line;
        n->col = col;
    }
    return n;
}

void ynode_free(ynode *n)
{
    if (!n)
        return;
    free(n->value);
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        ynode_free(n->items[i]);
    }
    free(n->keys);
    free(n->key_line);
    free(n->key_col);
    free(n->items);
    free(n);
}

static int node_push(ynode *parent, char *key, int kl, int kc, ynode *child)
{
    size_t n = parent->n + 1;
    ynode **items = realloc(parent->items, n * sizeof *items);
    if (!items)
        return ASSAY_ENOMEM;
    parent->items = items;
    if (parent->kind == Y_MAP) {
        char **keys = realloc(parent->keys, n * sizeof *keys);
        if (!keys)
            return ASSAY_ENOMEM;
        parent->keys = keys;
        int *l = realloc(parent->key_line, n * sizeof *l);
        if (!l)
            return ASSAY_ENOMEM;
        parent->key_line = l;
        int *c = realloc(parent->key_col, n * sizeof *c);
        if (!c)
            return ASSAY_ENOMEM;
        parent->key_col = c;
        keys[parent->n] = key;
        l[parent->n] = kl;
        c[parent->n] = kc;
    }
    items[parent->n] = child;
    parent->n = n;
    return 0;
}

static ynode *clone_counted(const ynode *n, size_t *count)
{
    if (++*count > MAX_NODES)
        return NULL;
    ynode *c = node_new(n->kind, n->line, n->col);
    if (!c)
        return NULL;
    c->quoted = n->quoted;
    if (n->value && !(c->value = strdup(n->value)))
        goto fail;
    for (size_t i = 0; i < n->n; i++) {
        ynode *ch = clone_counted(n->items[i], count);
        char *k = n->keys ? strdup(n->keys[i]) : NULL;
        if (!ch || (n->keys && !k) ||
            node_push(c, k, n->keys ? n->key_line[i] : 0,
                      n->keys ? n->key_col[i] : 0, ch)) {
            ynode_free(ch);
            free(k);
            goto fail;
        }
    }
    return c;
fail:
    ynode_free(c);
    return NULL;
}

ynode *ynode_clone(const ynode *n)
{
    size_t count = 0;
    return clone_counted(n, &count);
}

static void perr_hint(pstate *s, int line, int col, const char *hint,
                      const char *msg)
{
    if (!s->failed)
        diag_add(s->d, s->name, line, col, hint, "%s", msg);
    s->failed = true;
}

static void perr(pstate *s, int line, int col, const char *msg)
{
    perr_hint(s, line, col, NULL, msg);
}

/*
 * libyaml's messages name the grammar rule that failed, not the mistake
 * that usually causes it; add a hint for the common ones.  May move the
 * position to where the unfinished construct started.  Returns the hint
 * (in `hint`) or NULL.
 */
static const char *syntax_hint(const pstate *s, int *line, int *col,
                               char *hint, size_t n)
{
    const yaml_parser_t *p = &s->p;
    const char *pr = p->problem ? p->problem : "";
    const char *cx = p->context ? p->context : "";
    int cl = (int)p->context_mark.line + 1, cc = (int)p->context_mark.column + 1;
    size_t at = p->problem_mark.index;
    if (strstr(pr, "tab") || (at < s->len && s->text[at] == '\t')) {
        snprintf(hint, n, "indent with spaces: YAML does not allow tab "
                          "characters in indentation");
        return hint;
    }
    if (strstr(pr, "end of stream") && strstr(cx, "quoted scalar")) {
        *line = cl;
        *col = cc;
        snprintf(hint, n, "the quoted string that starts here is never "
                          "closed; add the closing quote");
        return hint;
    }
    if (strstr(pr, "expected ',' or ']'") || strstr(pr, "expected ',' or '}'")) {
        bool seq = strstr(pr, "']'") != NULL;
        snprintf(hint, n, "close the '%c' opened at line %d, column %d with "
                          "'%c', and separate its items with ','",
                 seq ? '[' : '{', cl, cc, seq ? ']' : '}');
        return hint;
    }
    if (strstr(pr, "did not find expected key") ||
        strstr(pr, "did not find expected '-'")) {
        snprintf(hint, n, "check the indentation: the entries of the block "
                          "that starts at line %d are in column %d",
                 cl, cc);
        return hint;
    }
    if (strstr(pr, "mapping values are not allowed")) {
        snprintf(hint, n, "quote a value that contains ': ' (\"a: b\"), or "
                          "check the indentation of this line");
        return hint;
    }
    if (strstr(pr, "could not find expected ':'")) {
        snprintf(hint, n, "a key needs ':' after it (line %d, column %d)",
                 cl, cc);
        return hint;
    }
    return NULL;
}

static int add_anchor(pstate *s, const char *name, ynode *node)
{
    if (s->nanchors == s->capanchors) {
        size_t cap = s->capanchors ? s->capanchors * 2 : 8;
        anchor *na = realloc(s->anchors, cap * sizeof *na);
        if (!na)
            return ASSAY_ENOMEM;
        s->anchors = na;
        s->capanchors = cap;
    }
    char *nm = strdup(name);
    if (!nm)
        return ASSAY_ENOMEM;
    s->anchors[s->nanchors].name = nm;
    s->anchors[s->nanchors].node = node; /* borrowed: lives in the tree */
    s->nanchors++;
    return 0;
}

/* Parse one node starting with event `ev` (consumed). */
static ynode *parse_node(pstate *s, yaml_event_t *ev, int depth);

static bool next_event(pstate *s, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&s->p, ev)) {
        char msg[512], hint[300];
        snprintf(msg, sizeof msg, "invalid YAML: %s%s%s",
                 s->p.problem ? s->p.problem : "syntax error",
                 s->p.context ? " " : "", s->p.context ? s->p.context : "");
        int line = (int)s->p.problem_mark.line + 1,
            col = (int)s->p.problem_mark.column + 1;
        const char *h = syntax_hint(s, &line, &col, hint, sizeof hint);
        perr_hint(s, line, col, h, msg);
        return false;
    }
    return true;
}

static ynode *parse_node(pstate *s, yaml_event_t *ev, int depth)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    ynode *n = NULL;
    if (depth > 200) {
        perr(s, line, col, "YAML nesting too deep");
        yaml_event_delete(ev);
        return NULL;
    }
    if (++s->nodes > MAX_NODES) {
        perr(s, line, col, "YAML document too large");
        yaml_event_delete(ev);
        return NULL;
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const char *a = (const char *)ev->data.alias.anchor;
        for (size_t i = s->nanchors; i-- > 0;)
            if (strcmp(s->anchors[i].name, a) == 0) {
                n = clone_counted(s->anchors[i].node, &s->nodes);
                if (!n)
                    perr(s, line, col, "alias expands to too large a "
                                       "document");
                yaml_event_delete(ev);
                return n;
            }
        char msg[300], hint[300];
        snprintf(msg, sizeof msg, "unknown alias '*%s'", a);
        const char **names = malloc((s->nanchors ? s->nanchors : 1) *
                                    sizeof *names);
        const char *best = NULL;
        for (size_t i = 0; names && i < s->nanchors; i++)
            names[i] = s->anchors[i].name;
        if (names)
            best = util_did_you_mean(a, names, s->nanchors);
        if (best)
            snprintf(hint, sizeof hint, "did you mean '*%s'?", best);
        else
            snprintf(hint, sizeof hint, "define the anchor before using "
                                        "it: 'key: &%s value'", a);
        free(names);
        perr_hint(s, line, col, hint, msg);
        yaml_event_delete(ev);
        return NULL;
    }
    case YAML_SCALAR_EVENT: {
        n = node_new(Y_SCALAR, line, col);
        if (!n || !(n->value = util_strndup((const char *)ev->data.scalar.value,
                                            ev->data.scalar.length))) {
            ynode_free(n);
            perr(s, line, col, "out of memory");
            yaml_event_delete(ev);
            return NULL;
        }
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                    (ev->data.scalar.tag &&
                     strcmp((char *)ev->data.scalar.tag,
                            "tag:yaml.org,2002:str") == 0);
        if (ev->data.scalar.anchor &&
            add_anchor(s, (const char *)ev->data.scalar.anchor, n))
            perr(s, line, col, "out of memory");
        yaml_event_delete(ev);
        return n;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        n = node_new(map ? Y_MAP : Y_SEQ, line, col);
        const yaml_char_t *anc = map ? ev->data.mapping_start.anchor
                                     : ev->data.sequence_start.anchor;
        if (n && anc && add_anchor(s, (const char *)anc, n))
            perr(s, line, col, "out of memory");
        yaml_event_delete(ev);
        if (!n) {
            perr(s, line, col, "out of memory");
            return NULL;
        }
        for (;;) {
            yaml_event_t e;
            if (!next_event(s, &e))
                goto fail;
            if (e.type == YAML_SEQUENCE_END_EVENT ||
                e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                return n;
            }
            char *key = NULL;
            int kl = 0, kc = 0;
            if (map) {
                kl = (int)e.start_mark.line + 1;
                kc = (int)e.start_mark.column + 1;
                if (e.type != YAML_SCALAR_EVENT) {
                    perr(s, kl, kc, "mapping keys must be plain scalars");
                    yaml_event_delete(&e);
                    goto fail;
                }
                key = util_strndup((const char *)e.data.scalar.value,
                                   e.data.scalar.length);
                yaml_event_delete(&e);
                if (!key) {
                    perr(s, kl, kc, "out of memory");
                    goto fail;
                }
                size_t first;
                if (ynode_get(n, key, &first)) {
                    char msg[400], hint[100];
                    snprintf(msg, sizeof msg, "duplicate key '%.200s'", key);
                    snprintf(hint, sizeof hint,
                             "it is already defined at line %d, column %d",
                             n->key_line[first], n->key_col[first]);
                    perr_hint(s, kl, kc, hint, msg);
                    free(key);
                    goto fail;
                }
                if (!next_event(s, &e)) {
                    free(key);
                    goto fail;
                }
            }
            ynode *child = parse_node(s, &e, depth + 1);
            if (!child) {
                free(key);
                goto fail;
            }
            if (node_push(n, key, kl, kc, child)) {
                free(key);
                ynode_free(child);
                perr(s, line, col, "out of memory");
                goto fail;
            }
        }
    fail:
        /* anchors may point into n: drop them all, the parse failed */
        for (size_t i = 0; i < s->nanchors; i++)
            free(s->anchors[i].name);
        s->nanchors = 0;
        ynode_free(n);
        return NULL;
    }
    default:
        perr(s, line, col, "unexpected YAML event");
        yaml_event_delete(ev);
        return NULL;
    }
}

static int load(pstate *s, ynode **out)
{
    yaml_event_t ev;
    ynode *root = NULL;
    *out = NULL;
    while (!s->failed) {
        if (!next_event(s, &ev))
            break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            int line = (int)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            if (root) {
                perr_hint(s, line, 1,
                          "put the whole experiment in one document "
                          "(remove this '---' line)",
                          "only one YAML document is allowed");
                break;
            }
            if (!next_event(s, &ev))
                break;
            root = parse_node(s, &ev, 0);
            continue;
        }
        yaml_event_delete(&ev);
    }
    for (size_t i = 0; i < s->nanchors; i++)
        free(s->anchors[i].name);
    free(s->anchors);
    if (s->failed) {
        ynode_free(root);
        return ASSAY_EINVAL;
    }
    if (!root) {
        diag_add(s->d, s->name, 1, 1,
                 "an experiment needs at least 'nodes:' with one node",
                 "the file is empty");
        return ASSAY_EINVAL;
    }
    *out = root;
    return 0;
}

int yaml_load_string(const char *text, size_t len, const char *name,
                     ynode **out, diag *d)
{
    pstate s = {.name = name, .d = d, .text = text, .len = len};
    if (!yaml_parser_initialize(&s.p)) {
        diag_add(d, name, 0, 0, NULL, "out of memory");
        return ASSAY_ENOMEM;
    }
    yaml_parser_set_input_string(&s.p, (const unsigned char *)text, len);
    int rc = load(&s, out);
    yaml_parser_delete(&s.p);
    return rc;
}

int yaml_load_file(const char *path, ynode **out, diag *d)
{
    char *data;
    size_t len;
    assay_error err;
    if (util_read_file(path, &data, &len, &err)) {
        diag_add(d, path, 0, 0, NULL, "cannot read the file: %s",
                 strerror(errno));
        return ASSAY_EIO;
    }
    int rc = yaml_load_string(data, len, path, out, d);
    free(data);
    return rc;
}

ynode *ynode_get(const ynode *map, const char *key, size_t *idx)
{
    if (!map || map->kind != Y_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0) {
            if (idx)
                *idx = i;
            return map->items[i];
        }
    return NULL;
}

int ynode_set(ynode *map, const char *key, ynode *val)
{
    size_t i;
    if (ynode_get(map, key, &i)) {
        ynode_free(map->items[i]);
        map->items[i] = val;
        return 0;
    }
    char *k = strdup(key);
    if (!k || node_push(map, k, val->line, val->col, val)) {
        free(k);
        ynode_free(val); /* ownership was taken, also on failure */
        return ASSAY_ENOMEM;
    }
    return 0;
}

const char *ynode_kind_name(const ynode *n)
{
    return n->kind == Y_MAP ? "mapping" : n->kind == Y_SEQ ? "sequence"
                                                            : "scalar";
}

static json_t *scalar_json(const ynode *n)
{
    const char *v = n->value;
    if (n->quoted)
        return json_string(v);
    if (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
        !strcmp(v, "NULL"))
        return json_null();
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
        return json_true();
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
        return json_false();
    int64_t i;
    if (strspn(v, "+-0123456789") == strlen(v) && util_parse_i64(v, &i))
        return json_integer(i);
    double d;
    if (strspn(v, "+-0123456789.eE") == strlen(v) && strpbrk(v, "0123456789") &&
        util_parse_double(v, &d))
        return json_real(d);
    if (!strcmp(v, ".inf") || !strcmp(v, "+.inf"))
        return json_real(INFINITY); /* jansson refuses: becomes NULL */
    return json_string(v);
}

json_t *ynode_to_json(const ynode *n)
{
    if (n->kind == Y_SCALAR) {
        json_t *j = scalar_json(n);
        return j ? j : json_string(n->value);
    }
    json_t *out = n->kind == Y_MAP ? json_object() : json_array();
    for (size_t i = 0; out && i < n->n; i++) {
        json_t *c = ynode_to_json(n->items[i]);
        int rc = n->kind == Y_MAP ? json_object_set_new(out, n->keys[i], c)
                                  : json_array_append_new(out, c);
        if (!c || rc) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* Expand ${...} in one string; returns a new string or NULL (error added
 * to d, or ENOMEM). */
static char *expand(const char *s, const char *file, const ynode *n, diag *d)
{
    strbuf sb = {0};
    for (const char *p = s; *p;) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') { /* $${ escapes */
            sb_append(&sb, "${", 2);
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            sb_append(&sb, p, 1);
            p++;
            continue;
        }
        const char *close = strchr(p + 2, '}');
        if (!close) {
            diag_add(d, file, n->line, n->col,
                     "write ${NAME} or ${NAME:-default}",
                     "unterminated '${' in value");
            sb_free(&sb);
            return NULL;
        }
        char name[256];
        size_t len = (size_t)(close - (p + 2));
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, p + 2, len);
        name[len] = '\0';
        const char *def = NULL;
        char *sep = strstr(name, ":-");
        if (sep) {
            *sep = '\0';
            def = sep + 2;
        }
        bool valid = name[0] != '\0';
        for (char *c = name; *c; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                  (*c >= '0' && *c <= '9') || *c == '_'))
                valid = false;
        if (!valid) {
            diag_add(d, file, n->line, n->col,
                     "variable names use letters, digits and '_'",
                     "bad variable name '${%s}'", name);
            sb_free(&sb);
            return NULL;
        }
        const char *val = getenv(name);
        if (!val || (!*val && def))
            val = def;
        if (!val) {
            char hint[400];
            snprintf(hint, sizeof hint,
                     "export %s, or give a default: ${%s:-value}", name,
                     name);
            diag_add(d, file, n->line, n->col, hint,
                     "environment variable '%s' is not set", name);
            sb_free(&sb);
            return NULL;
        }
        sb_puts(&sb, val);
        p = close + 1;
    }
    if (sb.oom) {
        sb_free(&sb);
        return NULL;
    }
    return sb_steal(&sb);
}

int yaml_expand_env(ynode *root, const char *file, diag *d)
{
    int rc = 0;
    if (root->kind == Y_SCALAR) {
        if (!strchr(root->value, '$'))
            return 0;
        char *nv = expand(root->value, file, root, d);
        if (!nv)
            return ASSAY_EINVAL;
        /* an expanded plain scalar keeps YAML typing ("${N:-3}" -> 3) */
        free(root->value);
        root->value = nv;
        return 0;
    }
    for (size_t i = 0; i < root->n; i++)
        if (yaml_expand_env(root->items[i], file, d))
            rc = ASSAY_EINVAL;
    return rc;
}

int yaml_set_path(ynode *root, const char *assignment, diag *d)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        diag_add(d, "--set", 0, 0, "write --set path.to.key=value",
                 "malformed override '%s'", assignment);
        return ASSAY_EINVAL;
    }
    char path[512];
    size_t pl = (size_t)(eq - assignment);
    if (pl >= sizeof path) {
        diag_add(d, "--set", 0, 0, NULL, "override path too long");
        return ASSAY_EINVAL;
    }
    memcpy(path, assignment, pl);
    path[pl] = '\0';
    ynode *val = NULL;
    diag vd = {0};
    const char *text = eq + 1;
    if (yaml_load_string(text, strlen(text), "--set", &val, &vd)) {
        /* an empty or odd value is taken as a plain string */
        diag_free(&vd);
        val = node_new(Y_SCALAR, 0, 0);
        if (!val || !(val->value = strdup(text))) {
            ynode_free(val);
            return ASSAY_ENOMEM;
        }
        val->quoted = true;
    }
    diag_free(&vd);
    ynode *cur = root;
    char *save = NULL;
    char *tok = strtok_r(path, ".", &save);
    while (tok) {
        char *nexttok = strtok_r(NULL, ".", &save);
        if (cur->kind != Y_MAP) {
            diag_add(d, "--set", 0, 0, NULL,
                     "override '%s': '%s' is inside a %s, not a mapping",
                     assignment, tok, ynode_kind_name(cur));
            ynode_free(val);
            return ASSAY_EINVAL;
        }
        if (!nexttok)
            return ynode_set(cur, tok, val);
        ynode *child = ynode_get(cur, tok, NULL);
        if (!child) {
            child = node_new(Y_MAP, 0, 0);
            if (!child || ynode_set(cur, tok, child)) { /* frees child */
                ynode_free(val);
                return ASSAY_ENOMEM;
            }
        }
        cur = child;
        tok = nexttok;
    }
    /* the path had no key at all ("..=3") */
    diag_add(d, "--set", 0, 0, "write --set path.to.key=value",
             "malformed override '%s'", assignment);
    ynode_free(val);
    return ASSAY_EINVAL;
}
