#include "cluster.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "graph.h"
#include "sha256.h"
#include "store.h"
#include "util.h"

typedef struct copts {
    const char *file;
    unsigned shards;
    const char *partition, *time_limit, *mem, *account, *qos;
    unsigned cpus;
    const char *sbatch_args[32];
    size_t nsbatch;
    const char *sets[128];
    size_t nsets;
    const char *runs_dir, *cache_dir, *assay_bin, *plugin_dirs[16];
    size_t nplugin_dirs;
    bool no_submit;
    /* k8s */
    const char *image, *pvc, *namespace_, *workdir, *cpu_req, *mem_req;
} copts;

static const char SLURM_HELP[] =
    "usage: assay slurm EXP.yaml --shards N [options]\n"
    "       assay slurm status [SLURM_DIR]\n"
    "\n"
    "Write a Slurm job array (one task per shard: `assay run --shard I/N`)\n"
    "and a merge job that starts when every shard succeeded\n"
    "(--dependency=afterok), submit both with sbatch and print the job ids.\n"
    "Each shard keeps its own cache (seeded from the project's LLM cache);\n"
    "the merge folds them back, so a re-run pays for nothing twice.\n"
    "\n"
    "  --shards N          number of shards (array tasks)\n"
    "  --partition P       --time T  --mem M  --account A  --qos Q\n"
    "  --cpus-per-task C   threads per shard (default 2)\n"
    "  --sbatch-arg ARG    extra sbatch option for both jobs (repeatable)\n"
    "  --set PATH=VALUE    override a YAML value (repeatable)\n"
    "  --runs-dir DIR      where the merged run goes (default runs)\n"
    "  --cache-dir DIR     the project cache (default .assay/cache)\n"
    "  --plugin-dir DIR    extra plugin directory for the jobs (repeatable)\n"
    "  --assay PATH        the assay binary the jobs run (default: this one)\n"
    "  --no-submit         write the scripts only\n";

static const char K8S_HELP[] =
    "usage: assay k8s EXP.yaml --shards N --image IMAGE --pvc CLAIM [options]\n"
    "\n"
    "Write Kubernetes manifests: an Indexed Job whose completion index is\n"
    "the shard, and a merge Job that waits until every shard finished and\n"
    "runs `assay merge`.  Both mount the claim at --workdir (the project\n"
    "directory holding EXP.yaml, runs/ and .assay/).  Apply with\n"
    "`kubectl apply -f DIR/assay-jobs.yaml`.\n"
    "\n"
    "  --namespace NS      (default: the context's)\n"
    "  --workdir PATH      mount path and working directory (default /work)\n"
    "  --cpu C --memory M  resource requests per pod (default 2, 4Gi)\n"
    "  --set PATH=VALUE    override a YAML value (repeatable)\n"
    "  --out DIR           where to write the manifests (default runs/<exp>/k8s-<time>)\n";

static bool want(int i, int argc, const char *f)
{
    if (i + 1 < argc)
        return true;
    fprintf(stderr, "assay: %s needs a value\n", f);
    return false;
}

/* Parse options shared by both commands; 0 ok, 2 bad usage, 1 --help. */
static int parse(int argc, char **argv, copts *o, const char *help,
                 const char **out_dir)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
#define VAL(flag, field)                                                     \
    if (!strcmp(s, flag)) {                                                  \
        if (!want(i, argc, s))                                               \
            return 2;                                                        \
        o->field = argv[++i];                                                \
        continue;                                                            \
    }
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(help, stdout);
            return 1;
        }
        VAL("--partition", partition)
        VAL("--time", time_limit)
        VAL("--mem", mem)
        VAL("--account", account)
        VAL("--qos", qos)
        VAL("--runs-dir", runs_dir)
        VAL("--cache-dir", cache_dir)
        VAL("--assay", assay_bin)
        VAL("--image", image)
        VAL("--pvc", pvc)
        VAL("--namespace", namespace_)
        VAL("--workdir", workdir)
        VAL("--cpu", cpu_req)
        VAL("--memory", mem_req)
#undef VAL
        if (!strcmp(s, "--out")) {
            if (!want(i, argc, s))
                return 2;
            *out_dir = argv[++i];
        } else if (!strcmp(s, "--shards") || !strcmp(s, "--cpus-per-task")) {
            int64_t v;
            if (!want(i, argc, s))
                return 2;
            if (!util_parse_i64(argv[++i], &v) || v < 1 || v > 100000) {
                fprintf(stderr, "assay: %s expects a positive integer\n", s);
                return 2;
            }
            if (!strcmp(s, "--shards"))
                o->shards = (unsigned)v;
            else
                o->cpus = (unsigned)v;
        } else if (!strcmp(s, "--sbatch-arg")) {
            if (!want(i, argc, s))
                return 2;
            if (o->nsbatch < 32)
                o->sbatch_args[o->nsbatch++] = argv[++i];
        } else if (!strcmp(s, "--set")) {
            if (!want(i, argc, s))
                return 2;
            if (o->nsets < 128)
                o->sets[o->nsets++] = argv[++i];
        } else if (!strcmp(s, "--plugin-dir")) {
            if (!want(i, argc, s))
                return 2;
            if (o->nplugin_dirs < 16)
                o->plugin_dirs[o->nplugin_dirs++] = argv[++i];
        } else if (!strcmp(s, "--no-submit")) {
            o->no_submit = true;
        } else if (s[0] == '-') {
            fprintf(stderr, "assay: unknown option '%s'\n%s", s, help);
            return 2;
        } else if (!o->file) {
            o->file = s;
        } else {
            fprintf(stderr, "assay: unexpected argument '%s'\n", s);
            return 2;
        }
    }
    return 0;
}

/* Single-quote a string for sh. */
static void shq(strbuf *sb, const char *s)
{
    sb_puts(sb, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            sb_puts(sb, "'\\''");
        else
            sb_append(sb, p, 1);
    }
    sb_puts(sb, "'");
}

/* Load (and so validate) the experiment; its name comes back in `name`. */
static int check_experiment(const copts *o, char *name, size_t n)
{
    registry *r = registry_new();
    assay_error err;
    registry_add_defaults(r, &err);
    for (size_t i = 0; i < o->nplugin_dirs; i++)
        registry_add_dir(r, o->plugin_dirs[i], &err);
    graph *g = NULL;
    diag d = {0};
    int rc = graph_load(o->file, o->sets, o->nsets, r, &g, &d);
    if (rc) {
        diag_print(&d, stderr);
        size_t n = d.n + d.dropped;
        fprintf(stderr, "%zu error%s\n", n, n == 1 ? "" : "s");
    } else
        snprintf(name, n, "%s", g->experiment);
    diag_free(&d);
    graph_free(g);
    registry_free(r);
    return rc ? 2 : 0;
}

/* Run a command, capturing its first line of stdout. */
static int run_capture(char *const argv[], char *out, size_t n)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "assay: cannot run %s: %s\n", argv[0],
                strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t r;
    char sink[4096];
    /* keep what fits, drain the rest so the child never blocks */
    while ((r = read(fd[0], got + 1 < n ? out + got : sink,
                     got + 1 < n ? n - 1 - got : sizeof sink)) > 0)
        if (got + 1 < n)
            got += (size_t)r;
    out[got] = '\0';
    close(fd[0]);
    while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r' ||
                       out[got - 1] == ' '))
        out[--got] = '\0';
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void sbatch_header(strbuf *sb, const copts *o, const char *job,
                          const char *log)
{
    sb_printf(sb, "#!/bin/bash\n#SBATCH --job-name=%s\n#SBATCH --output=%s\n",
              job, log);
    sb_printf(sb, "#SBATCH --cpus-per-task=%u\n", o->cpus ? o->cpus : 2);
    if (o->partition)
        sb_printf(sb, "#SBATCH --partition=%s\n", o->partition);
    if (o->time_limit)
        sb_printf(sb, "#SBATCH --time=%s\n", o->time_limit);
    if (o->mem)
        sb_printf(sb, "#SBATCH --mem=%s\n", o->mem);
    if (o->account)
        sb_printf(sb, "#SBATCH --account=%s\n", o->account);
    if (o->qos)
        sb_printf(sb, "#SBATCH --qos=%s\n", o->qos);
    for (size_t i = 0; i < o->nsbatch; i++)
        sb_printf(sb, "#SBATCH %s\n", o->sbatch_args[i]);
}

static void common_args(strbuf *sb, const copts *o)
{
    for (size_t i = 0; i < o->nsets; i++) {
        sb_puts(sb, " --set ");
        shq(sb, o->sets[i]);
    }
    for (size_t i = 0; i < o->nplugin_dirs; i++) {
        char abs[PATH_MAX];
        sb_puts(sb, " --plugin-dir ");
        shq(sb, util_realpath(o->plugin_dirs[i], abs, sizeof abs) == 0
                    ? abs
                    : o->plugin_dirs[i]);
    }
}

static int write_text(const char *dir, const char *name, const char *text,
                      bool exec)
{
    char path[PATH_MAX];
    assay_error err;
    if (util_path_join(path, sizeof path, dir, name) ||
        util_write_atomic(path, text, strlen(text), &err)) {
        fprintf(stderr, "assay: cannot write %s/%s\n", dir, name);
        return 1;
    }
    if (exec)
        chmod(path, 0755);
    return 0;
}

static int slurm_status(int argc, char **argv)
{
    const char *dir = argc > 0 ? argv[0] : NULL;
    char found[PATH_MAX] = "";
    if (!dir) {
        /* the newest runs/<exp>/slurm-* directory with a jobs.json (a
         * fixed command line: NOLINTNEXTLINE(cert-env33-c)) */
        FILE *p = popen("ls -1dt runs/*/slurm-*/ 2>/dev/null | head -n 1",
                        "r");
        if (p && fgets(found, sizeof found, p)) {
            char *nl = strchr(found, '\n');
            if (nl)
                *nl = '\0';
        }
        if (p)
            pclose(p);
        dir = found[0] ? found : NULL;
    }
    if (!dir) {
        fprintf(stderr, "assay slurm status: no submission found under "
                        "runs/; give its directory\n");
        return 2;
    }
    char jp[PATH_MAX];
    snprintf(jp, sizeof jp, "%s/jobs.json", dir);
    json_t *j = json_load_file(jp, 0, NULL);
    if (!j) {
        fprintf(stderr, "assay slurm status: %s not found\n", jp);
        return 2;
    }
    const char *ids[2] = {
        json_string_value(json_object_get(j, "array_job")),
        json_string_value(json_object_get(j, "merge_job"))};
    const char *what[2] = {"shards", "merge"};
    printf("%s\n", dir);
    for (int k = 0; k < 2; k++) {
        if (!ids[k])
            continue;
        static char out[1 << 16];
        char *sc[] = {"scontrol", "-o", "show", "job", (char *)ids[k], NULL};
        int rc = run_capture(sc, out, sizeof out);
        /* one line per (array) task: count the states */
        json_t *counts = json_object();
        for (char *st = strstr(out, "JobState="); rc == 0 && st;
             st = strstr(st + 9, "JobState=")) {
            char state[64] = "";
            sscanf(st + 9, "%63s", state);
            json_t *c = json_object_get(counts, state);
            json_object_set_new(counts, state,
                                json_integer(c ? json_integer_value(c) + 1
                                               : 1));
        }
        printf("  %-6s job %s:", what[k], ids[k]);
        if (json_object_size(counts) == 0)
            printf(" unknown (no longer known to the controller)");
        const char *sname;
        json_t *cnt;
        json_object_foreach(counts, sname, cnt)
            printf(" %s x%lld", sname, (long long)json_integer_value(cnt));
        printf("\n");
        json_decref(counts);
    }
    printf("  logs: %s/logs/\n", dir);
    json_decref(j);
    return 0;
}

int cluster_slurm_main(int argc, char **argv)
{
    if (argc > 0 && !strcmp(argv[0], "status"))
        return slurm_status(argc - 1, argv + 1);
    copts o = {0};
    const char *out_dir = NULL;
    int rc = parse(argc, argv, &o, SLURM_HELP, &out_dir);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!o.file || !o.shards) {
        fprintf(stderr, "assay slurm: give EXP.yaml and --shards N\n%s",
                SLURM_HELP);
        return 2;
    }
    char exp[256];
    if ((rc = check_experiment(&o, exp, sizeof exp)))
        return rc;
    char cwd[PATH_MAX], yaml[PATH_MAX], bin[PATH_MAX], cache[PATH_MAX],
        runs[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd) ||
        util_realpath(o.file, yaml, sizeof yaml) != 0)
        return 2;
    if (o.assay_bin)
        snprintf(bin, sizeof bin, "%s", o.assay_bin);
    else {
        ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 1);
        if (n <= 0)
            return 1;
        bin[n] = '\0';
    }
    assay_error err;
    const char *cd = o.cache_dir ? o.cache_dir : ".assay/cache";
    const char *rd = o.runs_dir ? o.runs_dir : "runs";
    if (util_mkdirs(cd, &err) || util_mkdirs(rd, &err) ||
        util_realpath(cd, cache, sizeof cache) ||
        util_realpath(rd, runs, sizeof runs)) {
        fprintf(stderr, "assay slurm: %s\n", err.text);
        return 1;
    }
    char dir[PATH_MAX], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    if (out_dir)
        snprintf(dir, sizeof dir, "%s", out_dir);
    else
        snprintf(dir, sizeof dir, "%s/%s/slurm-%s", runs, exp, stamp);
    char logs[PATH_MAX + 8];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    if (util_mkdirs(logs, &err)) {
        fprintf(stderr, "assay slurm: %s\n", err.text);
        return 1;
    }
    /* seed every shard's cache with the project's LLM answers */
    for (unsigned i = 0; i < o.shards; i++) {
        char sc[PATH_MAX + 32];
        snprintf(sc, sizeof sc, "%s/cache/shard-%u", dir, i);
        if (util_mkdirs(sc, &err) || store_seed_llm_cache(sc, cache, &err)) {
            fprintf(stderr, "assay slurm: %s\n", err.text);
            return 1;
        }
    }
    strbuf shard = {0}, merge = {0};
    char job[300], log[PATH_MAX + 32];
    snprintf(job, sizeof job, "assay-%s", exp);
    snprintf(log, sizeof log, "%s/shard-%%a.out", logs);
    sbatch_header(&shard, &o, job, log);
    sb_printf(&shard, "#SBATCH --array=0-%u\nset -euo pipefail\ncd ",
              o.shards - 1);
    shq(&shard, cwd);
    sb_puts(&shard, "\nexec ");
    shq(&shard, bin);
    sb_puts(&shard, " run ");
    shq(&shard, yaml);
    sb_printf(&shard,
              " --shard \"${SLURM_ARRAY_TASK_ID}/%u\" -j "
              "\"${SLURM_CPUS_PER_TASK:-1}\" --runs-dir ",
              o.shards);
    char shards_dir[PATH_MAX + 16];
    snprintf(shards_dir, sizeof shards_dir, "%s/shards", dir);
    shq(&shard, shards_dir);
    sb_puts(&shard, " --cache-dir ");
    char cache_pat[PATH_MAX + 32];
    snprintf(cache_pat, sizeof cache_pat, "%s/cache/shard-", dir);
    shq(&shard, cache_pat);
    sb_puts(&shard, "\"${SLURM_ARRAY_TASK_ID}\"");
    common_args(&shard, &o);
    sb_puts(&shard, "\n");

    snprintf(job, sizeof job, "assay-%s-merge", exp);
    snprintf(log, sizeof log, "%s/merge.out", logs);
    sbatch_header(&merge, &o, job, log);
    sb_puts(&merge, "set -euo pipefail\ncd ");
    shq(&merge, cwd);
    sb_puts(&merge, "\nexec ");
    shq(&merge, bin);
    sb_puts(&merge, " merge ");
    shq(&merge, shards_dir);
    sb_printf(&merge, "/%s/*-shard*-of-%u -j \"${SLURM_CPUS_PER_TASK:-1}\" "
                      "--runs-dir ", exp, o.shards);
    shq(&merge, runs);
    sb_puts(&merge, " --cache-dir ");
    shq(&merge, cache);
    for (size_t i = 0; i < o.nplugin_dirs; i++) {
        char abs[PATH_MAX];
        sb_puts(&merge, " --plugin-dir ");
        shq(&merge, util_realpath(o.plugin_dirs[i], abs, sizeof abs) == 0
                        ? abs
                        : o.plugin_dirs[i]);
    }
    sb_puts(&merge, "\n");
    if (shard.oom || merge.oom || write_text(dir, "shards.sbatch", shard.buf,
                                             true) ||
        write_text(dir, "merge.sbatch", merge.buf, true)) {
        sb_free(&shard);
        sb_free(&merge);
        return 1;
    }
    sb_free(&shard);
    sb_free(&merge);
    printf("wrote %s/shards.sbatch and %s/merge.sbatch\n", dir, dir);
    if (o.no_submit)
        return 0;
    char sp[PATH_MAX + 32], mp[PATH_MAX + 32], aid[256], mid[256],
        dep[300];
    snprintf(sp, sizeof sp, "%s/shards.sbatch", dir);
    snprintf(mp, sizeof mp, "%s/merge.sbatch", dir);
    char *sa[] = {"sbatch", "--parsable", sp, NULL};
    if (run_capture(sa, aid, sizeof aid) != 0 || !aid[0]) {
        fprintf(stderr, "assay slurm: sbatch failed for %s\n", sp);
        return 1;
    }
    char *semi = strchr(aid, ';'); /* "jobid;cluster" */
    if (semi)
        *semi = '\0';
    snprintf(dep, sizeof dep, "--dependency=afterok:%s", aid);
    char *ma[] = {"sbatch", "--parsable", dep, mp, NULL};
    if (run_capture(ma, mid, sizeof mid) != 0 || !mid[0]) {
        fprintf(stderr, "assay slurm: sbatch failed for %s (the shard array "
                        "%s is queued; cancel it with scancel %s)\n",
                mp, aid, aid);
        return 1;
    }
    semi = strchr(mid, ';');
    if (semi)
        *semi = '\0';
    json_t *j = json_pack("{ss ss ss ss sI ss}", "experiment", exp,
                          "array_job", aid, "merge_job", mid, "config", yaml,
                          "shards", (json_int_t)o.shards, "runs_dir", runs);
    char *js = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    if (js)
        write_text(dir, "jobs.json", js, false);
    free(js);
    printf("submitted shard array %s (%u tasks) and merge job %s "
           "(afterok:%s)\nfollow with: assay slurm status %s\n",
           aid, o.shards, mid, aid, dir);
    return 0;
}

/* ---- Kubernetes ------------------------------------------------------- */

static void yq(strbuf *sb, const char *s)
{
    /* a YAML double-quoted scalar */
    sb_puts(sb, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_append(sb, "\\", 1);
        sb_append(sb, p, 1);
    }
    sb_puts(sb, "\"");
}

static void k8s_job(strbuf *sb, const copts *o, const char *name,
                    const char *ns, bool indexed, const char *script)
{
    sb_printf(sb, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\n",
              name);
    if (ns)
        sb_printf(sb, "  namespace: %s\n", ns);
    sb_puts(sb, "  labels:\n    app.kubernetes.io/name: assay\n");
    sb_puts(sb, "spec:\n");
    if (indexed)
        sb_printf(sb,
                  "  completionMode: Indexed\n  completions: %u\n"
                  "  parallelism: %u\n",
                  o->shards, o->shards);
    sb_puts(sb, "  backoffLimit: 2\n  template:\n    metadata:\n"
                "      labels:\n        app.kubernetes.io/name: assay\n"
                "    spec:\n      restartPolicy: Never\n"
                "      containers:\n      - name: assay\n        image: ");
    yq(sb, o->image);
    sb_puts(sb, "\n        workingDir: ");
    yq(sb, o->workdir ? o->workdir : "/work");
    sb_puts(sb, "\n        command: [\"/bin/sh\", \"-c\"]\n        args:\n"
                "        - ");
    yq(sb, script);
    sb_puts(sb, "\n        resources:\n          requests:\n            cpu: ");
    yq(sb, o->cpu_req ? o->cpu_req : "2");
    sb_puts(sb, "\n            memory: ");
    yq(sb, o->mem_req ? o->mem_req : "4Gi");
    sb_puts(sb, "\n        volumeMounts:\n        - name: project\n"
                "          mountPath: ");
    yq(sb, o->workdir ? o->workdir : "/work");
    sb_puts(sb, "\n      volumes:\n      - name: project\n"
                "        persistentVolumeClaim:\n          claimName: ");
    yq(sb, o->pvc);
    sb_puts(sb, "\n");
}

int cluster_k8s_main(int argc, char **argv)
{
    copts o = {0};
    const char *out_dir = NULL;
    int rc = parse(argc, argv, &o, K8S_HELP, &out_dir);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!o.file || !o.shards || !o.image || !o.pvc) {
        fprintf(stderr, "assay k8s: give EXP.yaml, --shards N, --image and "
                        "--pvc\n%s", K8S_HELP);
        return 2;
    }
    char exp[256];
    if ((rc = check_experiment(&o, exp, sizeof exp)))
        return rc;
    /* Kubernetes names: lowercase alphanumerics and '-' */
    char name[64];
    size_t k = 0;
    for (const char *p = "assay-"; *p; p++)
        name[k++] = *p;
    for (const char *p = exp; *p && k < 40; p++)
        name[k++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32)
                    : ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
                        ? *p
                        : '-';
    name[k] = '\0';
    char tag[9], hex[65], seed[300];
    snprintf(seed, sizeof seed, "%s-%ld", exp, (long)time(NULL));
    sha256_hex(seed, strlen(seed), hex);
    memcpy(tag, hex, 8);
    tag[8] = '\0';
    const char *wd = o.workdir ? o.workdir : "/work";
    char shards_dir[600];
    snprintf(shards_dir, sizeof shards_dir, "runs/%s/k8s-%s/shards", exp,
             tag);
    strbuf run = {0}, merge = {0}, doc = {0};
    sb_puts(&run, "exec assay run ");
    shq(&run, o.file);
    sb_printf(&run,
              " --shard \"${JOB_COMPLETION_INDEX}/%u\" --runs-dir %s "
              "--cache-dir runs/%s/k8s-%s/cache/shard-"
              "\"${JOB_COMPLETION_INDEX}\"",
              o.shards, shards_dir, exp, tag);
    common_args(&run, &o);
    /* the merge pod waits for N finished shard manifests (Jobs have no
     * native dependencies), then merges */
    sb_printf(&merge,
              "until [ \"$(grep -l '\"status\": \"ok\"' %s/%s/*-shard*-of-%u/"
              "manifest.json 2>/dev/null | wc -l)\" -ge %u ]; do sleep 10; "
              "done; exec assay merge %s/%s/*-shard*-of-%u",
              shards_dir, exp, o.shards, o.shards, shards_dir, exp, o.shards);
    char jn[128];
    sb_printf(&doc, "# assay: %s sharded %u ways (apply with kubectl apply "
                    "-f); project volume '%s' mounted at %s\n",
              exp, o.shards, o.pvc, wd);
    snprintf(jn, sizeof jn, "%s-%s-shards", name, tag);
    k8s_job(&doc, &o, jn, o.namespace_, true, run.buf);
    sb_puts(&doc, "---\n");
    snprintf(jn, sizeof jn, "%s-%s-merge", name, tag);
    k8s_job(&doc, &o, jn, o.namespace_, false, merge.buf);
    char dir[PATH_MAX];
    if (out_dir)
        snprintf(dir, sizeof dir, "%s", out_dir);
    else
        snprintf(dir, sizeof dir, "runs/%s/k8s-%s", exp, tag);
    assay_error err;
    rc = doc.oom ? 1 : 0;
    if (!rc && util_mkdirs(dir, &err)) {
        fprintf(stderr, "assay k8s: %s\n", err.text);
        rc = 1;
    }
    if (!rc)
        rc = write_text(dir, "assay-jobs.yaml", doc.buf, false);
    if (!rc)
        printf("wrote %s/assay-jobs.yaml (Indexed Job of %u shards + merge "
               "Job)\napply with: kubectl apply -f %s/assay-jobs.yaml\n",
               dir, o.shards, dir);
    sb_free(&run);
    sb_free(&merge);
    sb_free(&doc);
    return rc;
}
