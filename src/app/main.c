/*
 * main.c - the `cwb` command: recipes, chunks, the run store, the REPL.
 *
 *   cwb run RECIPE.lua [--out DIR] [--seed N] [--db PATH] [--data-dir DIR] [--quiet] [-- ARGS]
 *   cwb -e 'CHUNK'     cwb runs ...     cwb [--plain]     cwb --help | --version
 *   cwb analyze A.npy B.npy [--labels Y.npy] [--tsne-max N] [--out DIR]
 *
 * Exit status: 0 success, 1 a recipe error, 2 bad usage, 130 interrupted.
 * Lua is set up as lua.c does it (all standard libraries, a protected main,
 * a message handler adding a traceback, Ctrl-C through a hook), plus the
 * cwb module as a global, help(), and package.path reaching cwb's own Lua
 * modules (CWB_LUA_PATH, the source tree when run from the build tree, the
 * installed share/cwb/lua).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "lua/lchunk.h"
#include "lua/lcwb.h"
#include "engine/core/tensor.h"
#include "app/runs_cli.h"
#include "ui/ui.h"
#include "ui/repl_cmds.h"
#include "util/atomic.h"

#include <errno.h>
#include <limits.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0"
#endif
#ifndef CWB_LUADIR
#define CWB_LUADIR "/usr/local/share/lua/5.4"
#endif

enum { EXIT_RECIPE = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

static const char usage_text[] =
    "usage: cwb [options] [command]\n"
    "\n"
    "commands:\n"
    "  cwb run RECIPE.lua [options] [-- ARGS...]\n"
    "                      run a recipe; ARGS (and words after the recipe) reach it as\n"
    "                      arg[1], arg[2], ... with arg[0] = RECIPE.lua\n"
    "  cwb -e 'CHUNK'      run a chunk of Lua (repeatable; before the recipe if both)\n"
    "  cwb runs ...        the run store: list, show ID, export ID --csv,\n"
    "                      plot ID METRIC [--png FILE] (cwb runs --help)\n"
    "  cwb analyze A.npy B.npy [--labels Y.npy] [--tsne-max N] [--out DIR]\n"
    "                      measure two sets of paired embeddings (modality gap,\n"
    "                      alignment, uniformity, recall, kNN): report.csv, Projector\n"
    "                      TSV files, PCA and t-SNE figures (docs/real-data.md)\n"
    "  cwb                 interactive session (plain REPL with --plain or when stdin\n"
    "                      is not a terminal); help() lists the Lua API\n"
    "\n"
    "options:\n"
    "  --out DIR           folder for figures and tables, created if missing\n"
    "                      (cwb.outdir(), cwb.outpath(name)); default .\n"
    "  --seed N            session seed, the default of every seed= option; default 1\n"
    "  --db PATH           run store (default $CWB_DB, else ./cwb-runs.db)\n"
    "  --data-dir DIR      where real data sets are looked for (sets CWB_DATA; default\n"
    "                      /usr/share/datasets, Debian's dataset-* packages)\n"
    "  --quiet, -q         no progress bars or progress lines\n"
    "  --threads N         OpenBLAS threads (default $CWB_THREADS, else\n"
    "                      $OPENBLAS_NUM_THREADS, else 1: fastest for cwb's small\n"
    "                      matrices on a busy machine)\n"
    "  --plain             the plain line REPL even on a terminal\n"
    "  --session FILE      the interactive session restores FILE at start (its lesson\n"
    "                      step or its run, knobs, panes; save_session writes one)\n"
    "  --help, -h          this text\n"
    "  --version           the version\n"
    "\n"
    "environment: CWB_DB (run store), CWB_THREADS, CWB_DATA (as --data-dir), CWB_LUA_PATH\n"
    "(extra folders for require, separated by ':', or Lua path templates with '?').\n"
    "exit status: 0 success, 1 recipe error, 2 bad usage, 130 interrupted (Ctrl-C).\n";

typedef struct {
    const char *argv0;
    const char *recipe;      /* cwb run RECIPE */
    const char **chunks;     /* -e */
    int n_chunks;
    char **script_args;      /* arg[1..] */
    int n_script_args;
    const char *outdir, *db;
    unsigned long long seed;
    int quiet, plain;
    const char *session;     /* --session FILE: the REPL restores it at start */
    int threads;             /* --threads, 0 = from the environment or 1 */
    int analyze;             /* cwb analyze: script_args are its words */
    int status;              /* exit status, set by pmain */
} options;

static int usage_error(const char *fmt, const char *what) {
    fprintf(stderr, "cwb: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (cwb --help for usage)\n");
    return EXIT_USAGE;
}

/* Print the error on top: the whole traceback, or its first line after
 * Ctrl-C (where the traceback is noise). */
static void report(lua_State *L, int status) {
    if (status == LUA_OK) return;
    const char *msg = lua_tostring(L, -1);
    if (!msg) msg = "(error object is not a string)";
    if (cwb_lua_interrupted()) {
        const char *nl = strchr(msg, '\n');
        fprintf(stderr, "%.*s\n", nl ? (int)(nl - msg) : (int)strlen(msg), msg);
    } else
        fprintf(stderr, "%s\n", msg);
    fflush(stderr);
    lua_pop(L, 1);
}

/* ---- package.path ------------------------------------------------------------- */

static void add_dir(luaL_Buffer *b, const char *dir, size_t n) {
    luaL_addlstring(b, dir, n);
    luaL_addstring(b, "/?.lua;");
    luaL_addlstring(b, dir, n);
    luaL_addstring(b, "/?/init.lua;");
}

/* The source tree's lua/ folder is searched only by the binary in the build
 * tree, so an installed cwb never picks up a stale checkout. */
static int in_build_tree(void) {
#ifdef CWB_BUILD_BINDIR
    char exe[PATH_MAX], real_bin[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = '\0';
    if (!realpath(CWB_BUILD_BINDIR, real_bin)) return 0;
    /* libtool-free build: the binary sits in src/ of the build tree */
    return strcmp(exe, real_bin) == 0;
#else
    return 0;
#endif
}

static void setup_path(lua_State *L) {
    luaL_Buffer b;
    lua_getglobal(L, "package");
    luaL_buffinit(L, &b);
    const char *env = getenv("CWB_LUA_PATH");
    if (env && *env) {
        if (strchr(env, '?')) {
            luaL_addstring(&b, env);
            luaL_addchar(&b, ';');
        } else {
            const char *p = env;
            while (*p) {
                const char *e = strchr(p, ':');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (n) add_dir(&b, p, n);
                p += n + (e ? 1 : 0);
            }
        }
    }
#ifdef CWB_SRC_LUADIR
    if (in_build_tree()) add_dir(&b, CWB_SRC_LUADIR, strlen(CWB_SRC_LUADIR));
#endif
    add_dir(&b, CWB_LUADIR, strlen(CWB_LUADIR));
    lua_getfield(L, -2, "path");
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

/* ---- the protected main --------------------------------------------------------- */

static void create_arg_table(lua_State *L, const options *o, const char *argv0) {
    lua_createtable(L, o->n_script_args, 2);
    lua_pushstring(L, argv0);
    lua_rawseti(L, -2, -1);
    if (o->recipe) {
        lua_pushstring(L, o->recipe);
        lua_rawseti(L, -2, 0);
    }
    for (int i = 0; i < o->n_script_args; i++) {
        lua_pushstring(L, o->script_args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");
}

/* Run the function on top with the script arguments; report and set the
 * exit status on failure.  Returns 0 if it failed. */
static int run_main_chunk(lua_State *L, options *o, int with_args) {
    int n = 0;
    if (with_args) {
        luaL_checkstack(L, o->n_script_args + 3, "too many arguments to the recipe");
        for (int i = 0; i < o->n_script_args; i++) lua_pushstring(L, o->script_args[i]);
        n = o->n_script_args;
    }
    int status = cwb_lua_docall(L, n, 0, CWB_CALL_TRACEBACK | CWB_CALL_SIGINT);
    if (status != LUA_OK) {
        report(L, status);
        o->status = cwb_lua_interrupted() ? EXIT_INTERRUPTED : EXIT_RECIPE;
        return 0;
    }
    return 1;
}

/* `cwb analyze`: one implementation, lua/cwb/analyze.lua, whose command()
 * returns the exit status (0, 1 bad data, 2 bad usage). */
static void run_analyze(lua_State *L, options *o) {
    static const char chunk[] = "return require('cwb.analyze').command(...)";
    int st = luaL_loadbuffer(L, chunk, sizeof chunk - 1, "=(cwb analyze)");
    if (st == LUA_OK) {
        luaL_checkstack(L, o->n_script_args + 3, "too many arguments to cwb analyze");
        for (int i = 0; i < o->n_script_args; i++) lua_pushstring(L, o->script_args[i]);
        st = cwb_lua_docall(L, o->n_script_args, 1, CWB_CALL_TRACEBACK | CWB_CALL_SIGINT);
    }
    if (st != LUA_OK) {
        report(L, st);
        o->status = cwb_lua_interrupted() ? EXIT_INTERRUPTED : EXIT_RECIPE;
        return;
    }
    o->status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_RECIPE;
    lua_pop(L, 1);
}

static int pmain(lua_State *L) {
    options *o = lua_touserdata(L, 1);
    lua_settop(L, 0);
    luaL_checkversion(L);
    luaL_openlibs(L);
    setup_path(L);
    luaL_requiref(L, "cwb", luaopen_cwb, 1);
    lua_pop(L, 1);
    create_arg_table(L, o, o->argv0);
    o->status = 0;
    if (o->analyze) {
        run_analyze(L, o);
        return 0;
    }
    for (int i = 0; i < o->n_chunks; i++) {
        int st = luaL_loadbuffer(L, o->chunks[i], strlen(o->chunks[i]), "=(command line)");
        if (st != LUA_OK) {
            report(L, st);
            o->status = EXIT_RECIPE;
            return 0;
        }
        if (!run_main_chunk(L, o, 0)) return 0;
    }
    if (o->recipe) {
        int st = luaL_loadfile(L, o->recipe);
        if (st != LUA_OK) { /* a syntax error: the message is "file:line: ..." */
            report(L, st);
            o->status = EXIT_RECIPE;
            return 0;
        }
        run_main_chunk(L, o, 1);
        return 0;
    }
    if (o->n_chunks == 0) o->status = cwb_repl_main(L, o->plain);
    return 0;
}

/* ---- command line ------------------------------------------------------------------ */


/* "--opt VALUE" or "--opt=VALUE": the value, advancing *i; NULL if missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) == 0 && a[n] == '=') return a + n + 1;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

static int is_opt(const char *a, const char *name) {
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* OpenBLAS starts as many threads as cores; on cwb's small matrices they
 * spin more than they help (a B=32 recipe ran 8x slower in wall time with 2
 * threads on a loaded 2-core machine), so one thread unless asked. */
static void set_threads(const options *o) {
    int n = o->threads;
    const char *env = getenv("CWB_THREADS");
    if (!n && env && *env) {
        char *end;
        long t = strtol(env, &end, 10);
        if (end != env && !*end && t >= 1 && t <= 256) n = (int)t;
        else fprintf(stderr, "cwb: ignoring CWB_THREADS='%s' (expects 1 to 256)\n", env);
    }
    if (!n && getenv("OPENBLAS_NUM_THREADS")) return; /* the user chose */
    cwb_blas_set_threads(n ? n : 1);
}

/* A file named on the command line opens, or it is said in one line. */
static int readable(const char *what, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cwb: cannot open %s '%s': %s\n", what, path, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

static int quit(options *o, int status) {
    free(o->chunks);
    free(o->script_args);
    o->chunks = NULL;
    o->script_args = NULL;
    cwb_lua_set_store_path(NULL);
    return status;
}

int main(int argc, char **argv) {
    options o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    o.chunks = calloc((size_t)argc + 1, sizeof *o.chunks);
    o.script_args = calloc((size_t)argc + 1, sizeof *o.script_args);
    if (!o.chunks || !o.script_args) {
        fprintf(stderr, "cwb: out of memory\n");
        return quit(&o, EXIT_RECIPE);
    }
    int run_cmd = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) o.script_args[o.n_script_args++] = argv[i];
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return quit(&o, 0);
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("cwb %s (%s, OpenBLAS %s kernel)\n", PACKAGE_VERSION, LUA_RELEASE, cwb_blas_corename());
            return quit(&o, 0);
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) o.quiet = 1;
        else if (strcmp(a, "--plain") == 0) o.plain = 1;
        else if (is_opt(a, "--session")) {
            if (!(o.session = opt_value(argc, argv, &i, "--session")) || !*o.session)
                return quit(&o, usage_error("%s needs a session file (save_session writes one)", "--session"));
        }
        else if (is_opt(a, "--out")) {
            if (!(o.outdir = opt_value(argc, argv, &i, "--out")) || !*o.outdir)
                return quit(&o, usage_error("%s needs a folder", "--out"));
        } else if (is_opt(a, "--db")) {
            if (!(o.db = opt_value(argc, argv, &i, "--db")) || !*o.db)
                return quit(&o, usage_error("%s needs a path", "--db"));
        } else if (is_opt(a, "--data-dir")) {
            /* the data loaders read CWB_DATA (cwb.data.fashion_mnist) */
            const char *v = opt_value(argc, argv, &i, "--data-dir");
            if (!v || !*v) return quit(&o, usage_error("%s needs a folder", "--data-dir"));
            setenv("CWB_DATA", v, 1);
        } else if (is_opt(a, "--seed")) {
            const char *v = opt_value(argc, argv, &i, "--seed");
            if (!v) return quit(&o, usage_error("%s needs a number", "--seed"));
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-')
                return quit(&o, usage_error("--seed expects a non-negative integer, got '%s'", v));
            o.seed = s;
        } else if (is_opt(a, "--threads")) {
            const char *v = opt_value(argc, argv, &i, "--threads");
            char *end;
            long t = v ? strtol(v, &end, 10) : 0;
            if (!v || end == v || *end || t < 1 || t > 256)
                return quit(&o, usage_error("--threads expects a number from 1 to 256, got '%s'", v ? v : ""));
            o.threads = (int)t;
        } else if (o.analyze && (strcmp(a, "--labels") == 0 || strcmp(a, "--tsne-max") == 0)) {
            /* the analyze command's own options, with their values */
            o.script_args[o.n_script_args++] = argv[i];
            if (i + 1 < argc) o.script_args[o.n_script_args++] = argv[++i];
        } else if (strcmp(a, "-e") == 0) {
            if (i + 1 >= argc) return quit(&o, usage_error("%s needs a chunk of Lua", "-e"));
            o.chunks[o.n_chunks++] = argv[++i];
        } else if (strncmp(a, "-e", 2) == 0 && a[2]) {
            o.chunks[o.n_chunks++] = a + 2;
        } else if (a[0] == '-' && a[1]) {
            return quit(&o, usage_error("unknown option '%s'", a));
        } else if (o.recipe || o.analyze) {
            o.script_args[o.n_script_args++] = argv[i];
        } else if (run_cmd) {
            o.recipe = a;
        } else if (strcmp(a, "runs") == 0) {
            if (o.n_chunks) return quit(&o, usage_error("%s cannot be combined with -e", "runs"));
            /* everything after "runs" is for the store's command line */
            return quit(&o, cwb_runs_main(argc - i, argv + i, o.db));
        } else if (strcmp(a, "run") == 0) {
            run_cmd = 1;
        } else if (strcmp(a, "analyze") == 0) {
            if (o.n_chunks) return quit(&o, usage_error("%s cannot be combined with -e", "analyze"));
            o.analyze = 1;
        } else if (strlen(a) > 4 && strcmp(a + strlen(a) - 4, ".lua") == 0) {
            o.recipe = a; /* `cwb recipe.lua` is `cwb run recipe.lua` */
        } else {
            return quit(&o, usage_error("unknown command '%s'", a));
        }
    }

    if (o.analyze && (o.n_chunks || o.recipe || run_cmd))
        return quit(&o, usage_error("%s cannot be combined with -e or a recipe", "analyze"));
    if (run_cmd && !o.recipe)
        return quit(&o, usage_error("%s needs a recipe file (cwb run RECIPE.lua)", "run"));
    if (o.recipe && !readable("recipe", o.recipe)) return quit(&o, EXIT_USAGE);
    if (o.outdir && cwb_mkdir_p(o.outdir) != 0) {
        fprintf(stderr, "cwb: cannot create --out folder '%s': %s\n", o.outdir, strerror(errno));
        return quit(&o, EXIT_USAGE);
    }
    if (o.session && (o.recipe || o.analyze || o.n_chunks))
        return quit(&o, usage_error("%s is for the interactive session (cwb --session FILE)", "--session"));
    if (o.session) {
        if (!readable("session", o.session)) return quit(&o, EXIT_USAGE);
        cwb_repl_set_session(o.session);
    }
    if (o.db) cwb_lua_set_store_path(o.db);
    cwb_lua_set_quiet(o.quiet);
    set_threads(&o);
    cwb_lua_set_context(o.recipe ? o.recipe : o.analyze ? "(analyze)" : o.n_chunks ? "(command line)" : "(repl)",
                        o.outdir ? o.outdir : ".", o.seed);

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "cwb: cannot create the Lua state: not enough memory\n");
        return quit(&o, EXIT_RECIPE);
    }
    lua_pushcfunction(L, pmain);
    o.argv0 = argv[0];
    lua_pushlightuserdata(L, &o);
    int st = lua_pcall(L, 1, 0, 0);
    if (st != LUA_OK) { /* only memory errors and the like reach here */
        report(L, st);
        if (!o.status) o.status = EXIT_RECIPE;
    }
    /* closing the state runs __gc: the store flushes and marks unfinished
     * runs interrupted */
    lua_close(L);
    if (cwb_lua_interrupted() && o.status == EXIT_RECIPE) o.status = EXIT_INTERRUPTED;
    return quit(&o, o.status);
}
