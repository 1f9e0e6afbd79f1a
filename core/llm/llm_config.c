/*
 * core/llm/llm_config.c - read and validate the `llm:` endpoints and the
 * `budget:` section.  Every message names the key as llm.NAME.KEY so the
 * user finds it in the YAML.
 */
#include "llm_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const ep_keys[] = {"provider",
                                      "base_url",
                                      "base_urls",
                                      "model",
                                      "api_key",
                                      "headers",
                                      "max_concurrency",
                                      "requests_per_minute",
                                      "tokens_per_minute",
                                      "timeout",
                                      "connect_timeout",
                                      "retries",
                                      "backoff",
                                      "backoff_max",
                                      "temperature",
                                      "top_p",
                                      "max_tokens",
                                      "seed",
                                      "stop",
                                      "response_format",
                                      "params",
                                      "price",
                                      "cache",
                                      NULL};

int llm_cache_mode_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "read-write") == 0 || strcmp(s, "rw") == 0)
        return LLM_CACHE_RW;
    if (strcmp(s, "off") == 0)
        return LLM_CACHE_OFF;
    if (strcmp(s, "replay") == 0)
        return LLM_CACHE_REPLAY;
    return -1;
}

/* A number from a JSON number or a numeric string ("${N}" expanded). */
static bool cfg_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        while (*end == ' ')
            end++;
        if (end == s || *end || errno || !isfinite(d))
            return false;
        *out = d;
        return true;
    }
    return false;
}

static bool cfg_integer(const json_t *v, long long *out)
{
    double d;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_string(v) || !cfg_number(v, &d) || d != floor(d) ||
        fabs(d) > 9e15)
        return false;
    *out = (long long)d;
    return true;
}

static char *cfg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

#define EP_ERR(...) assay_error_set(err, ASSAY_EINVAL, __VA_ARGS__)

/* Default parameters: the known ones are checked and copied into
 * ep->defaults; `params` entries are passed through as given. */
static int ep_defaults(llm_endpoint *ep, const char *name, const json_t *cfg,
                       assay_error *err)
{
    json_t *d = json_object(), *v;
    double x;
    long long i;
    if (!d)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    ep->defaults = d;
    json_t *params = json_object_get(cfg, "params");
    if (params) {
        if (!json_is_object(params))
            return EP_ERR("llm.%s.params: expected a mapping", name);
        if (json_object_update(d, params) != 0)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if ((v = json_object_get(cfg, "temperature"))) {
        if (!cfg_number(v, &x) || x < 0 || x > 2)
            return EP_ERR("llm.%s.temperature: expected a number in "
                          "[0, 2]",
                          name);
        json_object_set_new(d, "temperature", json_real(x));
    }
    if ((v = json_object_get(cfg, "top_p"))) {
        if (!cfg_number(v, &x) || x <= 0 || x > 1)
            return EP_ERR("llm.%s.top_p: expected a number in (0, 1]", name);
        json_object_set_new(d, "top_p", json_real(x));
    }
    if ((v = json_object_get(cfg, "max_tokens"))) {
        if (!cfg_integer(v, &i) || i <= 0)
            return EP_ERR("llm.%s.max_tokens: expected a positive integer",
                          name);
        json_object_set_new(d, "max_tokens", json_integer(i));
    }
    if ((v = json_object_get(cfg, "seed"))) {
        if (!cfg_integer(v, &i))
            return EP_ERR("llm.%s.seed: expected an integer", name);
        json_object_set_new(d, "seed", json_integer(i));
    }
    if ((v = json_object_get(cfg, "stop"))) {
        bool ok = json_is_string(v);
        if (json_is_array(v)) {
            size_t k;
            json_t *e;
            ok = true;
            json_array_foreach(v, k, e) ok = ok && json_is_string(e);
        }
        if (!ok)
            return EP_ERR("llm.%s.stop: expected a string or a list of "
                          "strings",
                          name);
        json_object_set(d, "stop", v);
    }
    if ((v = json_object_get(cfg, "response_format"))) {
        if (json_is_string(v) && strcmp(json_string_value(v), "json") == 0)
            json_object_set_new(d, "response_format",
                                json_pack("{s:s}", "type", "json_object"));
        else if (json_is_string(v) && strcmp(json_string_value(v), "text") == 0)
            ;
        else if (json_is_object(v))
            json_object_set(d, "response_format", v);
        else
            return EP_ERR("llm.%s.response_format: expected \"json\", "
                          "\"text\" or a mapping",
                          name);
    }
    return ASSAY_OK;
}

/* Headers: the provider's, then the user's extra ones. */
static int ep_headers(llm_endpoint *ep, const char *name, const json_t *cfg,
                      assay_error *err)
{
    json_t *arr = json_array(), *h = json_object_get(cfg, "headers"), *v;
    int rc = ASSAY_OK;
    size_t i;
    const char *k;
    if (!arr)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    ep->extra_header_names = json_array();
    if (!ep->extra_header_names) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    rc = ep->prov->headers(&ep->pe, arr, err);
    if (rc) {
        llm_error_prefix(err, "llm.%s: ", name);
        goto out;
    }
    if (h && !json_is_object(h)) {
        rc = EP_ERR("llm.%s.headers: expected a mapping of strings", name);
        goto out;
    }
    json_object_foreach(h, k, v)
    {
        char line[1024];
        if (!json_is_string(v) || strpbrk(k, ":\r\n") ||
            strpbrk(json_string_value(v), "\r\n")) {
            rc = EP_ERR("llm.%s.headers.%s: expected a one-line string", name,
                        k);
            goto out;
        }
        int n = snprintf(line, sizeof line, "%s: %s", k, json_string_value(v));
        if (n < 0 || (size_t)n >= sizeof line) {
            rc = EP_ERR("llm.%s.headers.%s: too long", name, k);
            goto out;
        }
        json_array_append_new(arr, json_string(line));
        json_array_append_new(ep->extra_header_names, json_string(k));
    }
    /* Let curl send no "Expect: 100-continue" on larger bodies. */
    json_array_append_new(arr, json_string("Expect:"));
    json_array_foreach(arr, i, v)
    {
        struct curl_slist *n =
            curl_slist_append(ep->headers, json_string_value(v));
        if (!n) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        ep->headers = n;
    }
out:
    json_decref(arr);
    return rc;
}

/* One base URL: http(s), trailing slashes dropped; *out is malloc'd. */
static int ep_url(const char *name, const char *key, const json_t *v,
                  char **out, assay_error *err)
{
    const char *url = json_string_value(v);
    if (!url || !*url)
        return EP_ERR("llm.%s.%s: expected a non-empty URL string (is its "
                      "environment variable set?)",
                      name, key);
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return EP_ERR("llm.%s.%s: expected an http:// or https:// URL", name,
                      key);
    if (!(*out = cfg_strdup(url)))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    size_t l = strlen(*out);
    while (l > 0 && (*out)[l - 1] == '/')
        (*out)[--l] = '\0';
    return ASSAY_OK;
}

/*
 * The replicas: `base_url` as one URL or a list of them, or `base_urls`
 * (a list); without either, the provider's public URL.  Each URL is
 * listed once.
 */
static int ep_replicas(llm_endpoint *ep, const char *name, const json_t *cfg,
                       const char *provider, assay_error *err)
{
    const json_t *one = json_object_get(cfg, "base_url");
    const json_t *many = json_object_get(cfg, "base_urls");
    const char *key = many ? "base_urls" : "base_url";
    const json_t *list = many ? many : one;
    size_t n = 1;
    int rc;
    if (one && many)
        return EP_ERR("llm.%s.base_urls: give either base_url or base_urls, "
                      "not both",
                      name);
    if (json_is_array(list)) {
        n = json_array_size(list);
        if (n == 0)
            return EP_ERR("llm.%s.%s: expected at least one URL", name, key);
    } else if (many) {
        return EP_ERR("llm.%s.base_urls: expected a list of URLs", name);
    } else if (one && !json_is_string(one)) {
        return EP_ERR("llm.%s.base_url: expected a URL or a list of URLs",
                      name);
    }
    if (!(ep->reps = calloc(n, sizeof *ep->reps)))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (!list) {
        const char *def = strcmp(provider, "llm.openai") == 0
                              ? "https://api.openai.com/v1"
                          : strcmp(provider, "llm.anthropic") == 0
                              ? "https://api.anthropic.com/v1"
                              : NULL;
        if (!def)
            return EP_ERR("llm.%s.base_url: required for provider %s", name,
                          provider);
        ep->nreps = 1;
        if (!(ep->reps[0].base_url = cfg_strdup(def)))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; list && i < n; i++) {
        const json_t *v = json_is_array(list) ? json_array_get(list, i) : list;
        char kbuf[48];
        if (json_is_array(list))
            snprintf(kbuf, sizeof kbuf, "%s[%zu]", key, i);
        else
            snprintf(kbuf, sizeof kbuf, "%s", key);
        rc = ep_url(name, kbuf, v, &ep->reps[i].base_url, err);
        if (rc)
            return rc;
        ep->nreps = i + 1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(ep->reps[k].base_url, ep->reps[i].base_url) == 0)
                return EP_ERR("llm.%s.%s: %s is listed twice", name, kbuf,
                              ep->reps[i].base_url);
    }
    if (!(ep->base_url = cfg_strdup(ep->reps[0].base_url)))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
}

int llm_endpoint_parse(llm_endpoint *ep, const char *name, const json_t *cfg,
                       const char *cache_mode_override, llm_find_plugin_fn find,
                       void *find_ud, assay_error *err)
{
    const char *k;
    json_t *v;
    double x;
    long long i;
    int rc;

    if (!(ep->name = cfg_strdup(name)))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (!json_is_object(cfg))
        return EP_ERR("llm.%s: expected a mapping (provider, model, ...)",
                      name);
    json_object_foreach((json_t *)cfg, k, v)
    {
        bool known = false;
        for (size_t j = 0; ep_keys[j]; j++)
            known = known || strcmp(k, ep_keys[j]) == 0;
        if (!known)
            return EP_ERR("llm.%s.%s: unknown key (expected one of "
                          "provider, base_url, base_urls, model, api_key, "
                          "headers, "
                          "max_concurrency, requests_per_minute, "
                          "tokens_per_minute, timeout, connect_timeout, "
                          "retries, backoff, backoff_max, temperature, "
                          "top_p, max_tokens, seed, stop, response_format, "
                          "params, price, cache)",
                          name, k);
    }

    /* provider */
    v = json_object_get(cfg, "provider");
    if (!json_is_string(v) || !json_string_length(v))
        return EP_ERR("llm.%s.provider: required (openai, anthropic or a "
                      "provider plugin name)",
                      name);
    const char *pn = json_string_value(v);
    char full[128];
    int n = strchr(pn, '.') ? snprintf(full, sizeof full, "%s", pn)
                            : snprintf(full, sizeof full, "llm.%s", pn);
    if (n < 0 || (size_t)n >= sizeof full)
        return EP_ERR("llm.%s.provider: name too long", name);
    const assay_plugin *p = find ? find(find_ud, full) : NULL;
    if (!p)
        return EP_ERR("llm.%s.provider: no provider plugin '%s' (is the "
                      "plugin installed? see `assay plugins`)",
                      name, full);
    if (!p->kind || strcmp(p->kind, "llm-provider") != 0 || !p->ext)
        return EP_ERR("llm.%s.provider: plugin '%s' is not an llm-provider",
                      name, full);
    ep->prov = p->ext;
    if (ep->prov->struct_size < offsetof(assay_llm_provider, error_message) +
                                    sizeof(ep->prov->error_message) ||
        !ep->prov->chat_url || !ep->prov->headers || !ep->prov->chat_body ||
        !ep->prov->chat_parse || !ep->prov->error_message)
        return EP_ERR("llm.%s.provider: plugin '%s' lacks required "
                      "provider callbacks",
                      name, full);
    if (!(ep->provider = cfg_strdup(full)))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");

    /* model, base_url, api_key */
    v = json_object_get(cfg, "model");
    if (!json_is_string(v) || !json_string_length(v))
        return EP_ERR("llm.%s.model: required (a model name string)", name);
    ep->model = cfg_strdup(json_string_value(v));
    rc = ep_replicas(ep, name, cfg, full, err);
    if (rc)
        return rc;
    v = json_object_get(cfg, "api_key");
    if (v && !json_is_string(v))
        return EP_ERR("llm.%s.api_key: expected a string", name);
    ep->api_key = cfg_strdup(v ? json_string_value(v) : "");
    if (!ep->model || !ep->base_url || !ep->api_key)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (strpbrk(ep->api_key, "\r\n"))
        return EP_ERR("llm.%s.api_key: contains a line break", name);
    ep->pe.model = ep->model;
    ep->pe.api_key = ep->api_key[0] ? ep->api_key : NULL;
    for (size_t r = 0; r < ep->nreps; r++) {
        llm_replica *rep = &ep->reps[r];
        ep->pe.base_url = rep->base_url;
        rc = ep->prov->chat_url(&ep->pe, rep->chat_url, sizeof rep->chat_url,
                                err);
        if (rc == 0 && ep->prov->embed_url &&
            ASSAY_PROVIDER_HAS(ep->prov, embed_vector))
            rc = ep->prov->embed_url(&ep->pe, rep->embed_url,
                                     sizeof rep->embed_url, err);
        if (rc) {
            llm_error_prefix(err, "llm.%s.%s: ", name,
                             ep->nreps > 1 ? "base_urls" : "base_url");
            return rc;
        }
        rep->https = strncmp(rep->base_url, "https://", 8) == 0;
    }
    ep->pe.base_url = ep->base_url;

    /* limits */
    ep->max_concurrency = 8;
    if ((v = json_object_get(cfg, "max_concurrency"))) {
        if (!cfg_integer(v, &i) || i <= 0 || i > 100000)
            return EP_ERR("llm.%s.max_concurrency: expected a positive "
                          "integer",
                          name);
        ep->max_concurrency = (int)i;
    }
    if ((v = json_object_get(cfg, "requests_per_minute"))) {
        if (!cfg_number(v, &x) || x <= 0)
            return EP_ERR("llm.%s.requests_per_minute: expected a positive "
                          "number",
                          name);
        ep->rpm = x;
    }
    if ((v = json_object_get(cfg, "tokens_per_minute"))) {
        if (!cfg_number(v, &x) || x <= 0)
            return EP_ERR("llm.%s.tokens_per_minute: expected a positive "
                          "number",
                          name);
        ep->tpm = x;
    }
    ep->timeout_ms = 120000;
    if ((v = json_object_get(cfg, "timeout"))) {
        if (!cfg_number(v, &x) || x <= 0 || x > 86400)
            return EP_ERR("llm.%s.timeout: expected a positive number of "
                          "seconds",
                          name);
        ep->timeout_ms = (long)ceil(x * 1000);
    }
    ep->connect_timeout_ms = 10000;
    if ((v = json_object_get(cfg, "connect_timeout"))) {
        if (!cfg_number(v, &x) || x <= 0 || x > 86400)
            return EP_ERR("llm.%s.connect_timeout: expected a positive "
                          "number of seconds",
                          name);
        ep->connect_timeout_ms = (long)ceil(x * 1000);
    }
    ep->retries = 5;
    if ((v = json_object_get(cfg, "retries"))) {
        if (!cfg_integer(v, &i) || i < 0 || i > 100)
            return EP_ERR("llm.%s.retries: expected an integer in [0, 100]",
                          name);
        ep->retries = (int)i;
    }
    ep->backoff_s = 0.5;
    if ((v = json_object_get(cfg, "backoff"))) {
        if (!cfg_number(v, &x) || x < 0 || x > 3600)
            return EP_ERR("llm.%s.backoff: expected a number of seconds "
                          ">= 0",
                          name);
        ep->backoff_s = x;
    }
    ep->backoff_max_s = 30;
    if ((v = json_object_get(cfg, "backoff_max"))) {
        if (!cfg_number(v, &x) || x < 0 || x > 86400)
            return EP_ERR("llm.%s.backoff_max: expected a number of "
                          "seconds >= 0",
                          name);
        ep->backoff_max_s = x;
    }

    /* price */
    if ((v = json_object_get(cfg, "price"))) {
        json_t *pv;
        if (!json_is_object(v))
            return EP_ERR("llm.%s.price: expected {input: USD, output: "
                          "USD} per 1M tokens",
                          name);
        json_object_foreach(v, k, pv)
        {
            bool in = strcmp(k, "input") == 0, out = strcmp(k, "output") == 0;
            if (!in && !out)
                return EP_ERR("llm.%s.price.%s: unknown key (expected "
                              "input, output)",
                              name, k);
            if (!cfg_number(pv, &x) || x < 0)
                return EP_ERR("llm.%s.price.%s: expected a non-negative "
                              "number (USD per 1M tokens)",
                              name, k);
            if (in)
                ep->price_in = x;
            else
                ep->price_out = x;
        }
    }

    /* cache */
    ep->cache_mode = LLM_CACHE_RW;
    if ((v = json_object_get(cfg, "cache"))) {
        int m = llm_cache_mode_parse(json_string_value(v));
        if (m < 0)
            return EP_ERR("llm.%s.cache: expected read-write, off or replay",
                          name);
        ep->cache_mode = m;
    }
    if (cache_mode_override)
        ep->cache_mode = llm_cache_mode_parse(cache_mode_override);

    rc = ep_defaults(ep, name, cfg, err);
    if (rc == 0)
        rc = ep_headers(ep, name, cfg, err);
    ep->cwnd = ep->max_concurrency;
    atomic_init(&ep->cwnd_milli, (unsigned)ep->max_concurrency * 1000u);
    return rc;
}

void llm_endpoint_free(llm_endpoint *ep)
{
    if (!ep)
        return;
    for (size_t i = 0; i < ep->n_idle; i++)
        curl_easy_cleanup(ep->idle[i]);
    free(ep->idle);
    curl_slist_free_all(ep->headers);
    json_decref(ep->defaults);
    json_decref(ep->extra_header_names);
    free(ep->stats.lat);
    for (size_t r = 0; r < ep->nreps; r++)
        free(ep->reps[r].base_url);
    free(ep->reps);
    free(ep->name);
    free(ep->provider);
    free(ep->base_url);
    free(ep->model);
    if (ep->api_key) {
        /* do not leave the secret in freed memory */
        volatile char *p = ep->api_key;
        while (*p)
            *p++ = 0;
        free(ep->api_key);
    }
}

int llm_budget_parse(const json_t *cfg, llm_budget *b, assay_error *err)
{
    const char *k;
    json_t *v;
    memset(b, 0, sizeof *b);
    if (!cfg || json_is_null(cfg))
        return ASSAY_OK;
    if (!json_is_object(cfg))
        return EP_ERR("budget: expected a mapping (max_cost, max_tokens, "
                      "max_requests)");
    json_object_foreach((json_t *)cfg, k, v)
    {
        double x;
        long long i;
        if (strcmp(k, "max_cost") == 0) {
            if (!cfg_number(v, &x) || x < 0)
                return EP_ERR("budget.max_cost: expected a non-negative "
                              "number (USD)");
            b->max_cost = x;
        } else if (strcmp(k, "max_tokens") == 0) {
            if (!cfg_integer(v, &i) || i <= 0)
                return EP_ERR("budget.max_tokens: expected a positive "
                              "integer");
            b->max_tokens = (uint64_t)i;
        } else if (strcmp(k, "max_requests") == 0) {
            if (!cfg_integer(v, &i) || i <= 0)
                return EP_ERR("budget.max_requests: expected a positive "
                              "integer");
            b->max_requests = (uint64_t)i;
        } else {
            return EP_ERR("budget.%s: unknown key (expected max_cost, "
                          "max_tokens, max_requests)",
                          k);
        }
    }
    return ASSAY_OK;
}

void llm_redact(char *text, size_t size, const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    static const char rep[] = "[redacted]";
    const size_t rl = sizeof rep - 1;
    if (sl < 4 || !text)
        return;
    char *p = text;
    while ((p = strstr(p, secret)) != NULL) {
        size_t tail = strlen(p + sl);
        size_t at = (size_t)(p - text);
        if (at + rl + tail + 1 > size)
            tail = size > at + rl + 1 ? size - at - rl - 1 : 0;
        if (at + rl + 1 > size) {
            *p = '\0';
            return;
        }
        memmove(p + rl, p + sl, tail);
        p[rl + tail] = '\0';
        memcpy(p, rep, rl);
        p += rl;
    }
}

void llm_error_prefix(assay_error *err, const char *fmt, ...)
{
    char head[256], old[ASSAY_ERROR_TEXT];
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->text, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t hl = strlen(head), room = sizeof err->text - 1 - hl;
    size_t ol = strnlen(old, room);
    memcpy(err->text, head, hl);
    memcpy(err->text + hl, old, ol);
    err->text[hl + ol] = '\0';
}
