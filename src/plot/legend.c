/*
 * legend.c - labels that say what differs between runs (legend.h).
 */
#include "plot/legend.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char **key, **val;
    int n, cap;
    int oom;
} leaves;

static int add_leaf(const char *key, const char *value, void *ud) {
    leaves *l = ud;
    /* the name is the label's own first part; it is not a parameter that differs */
    if (strcmp(key, "name") == 0) return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **k = realloc(l->key, (size_t)cap * sizeof *k);
        if (k) l->key = k;
        char **v = realloc(l->val, (size_t)cap * sizeof *v);
        if (v) l->val = v;
        if (!k || !v) {
            l->oom = 1;
            return 1;
        }
        l->cap = cap;
    }
    l->key[l->n] = strdup(key);
    l->val[l->n] = strdup(value ? value : "");
    if (!l->key[l->n] || !l->val[l->n]) {
        free(l->key[l->n]);
        free(l->val[l->n]);
        l->oom = 1;
        return 1;
    }
    l->n++;
    return 0;
}

static void leaves_free(leaves *l) {
    for (int i = 0; i < l->n; i++) {
        free(l->key[i]);
        free(l->val[i]);
    }
    free(l->key);
    free(l->val);
}

static const char *value_of(const leaves *l, const char *key) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->key[i], key) == 0) return l->val[i];
    return NULL;
}

/* "loss.tau" is shown as "tau", "encoder.dims[1]" as "dims[1]". */
static const char *short_key(const char *key) {
    const char *dot = strrchr(key, '.');
    return dot ? dot + 1 : key;
}

/* Whether the word w (n bytes) stands, space-separated, in s. */
static int has_word(const char *s, const char *w, size_t n) {
    const char *p = s;
    while (*p) {
        while (*p == ' ') p++;
        size_t k = strcspn(p, " ");
        if (k && k == n && strncmp(p, w, n) == 0) return 1;
        p += k;
    }
    return 0;
}

/* name without the words every run's name has ("gradient_bias standard
 * B=8 sigma=0.5" among runs that all say "gradient_bias" and "B=8 sigma=0.5"
 * reads "standard"); the whole name if nothing else would be left. */
static void distinct_words(cwb_buf *b, const char *name, const cwb_legend_run *runs, int n) {
    size_t start = b->n;
    for (const char *p = name; *p;) {
        while (*p == ' ') p++;
        size_t k = strcspn(p, " ");
        if (!k) break;
        int everywhere = 1;
        for (int j = 0; j < n && everywhere; j++)
            everywhere = has_word(runs[j].name ? runs[j].name : "", p, k);
        if (!everywhere) {
            if (b->n > start) cwb_buf_char(b, ' ');
            cwb_buf_add(b, p, k);
        }
        p += k;
    }
    if (b->n == start) cwb_buf_str(b, name);
}

static char *finish(cwb_buf *b) {
    if (b->n > CWB_LEGEND_MAX) {
        b->n = CWB_LEGEND_MAX - 1;
        b->p[b->n] = '\0';
        cwb_buf_char(b, '~');
    }
    if (!b->p) cwb_buf_str(b, "");
    return b->oom ? (cwb_buf_free(b), NULL) : cwb_buf_take(b);
}

int cwb_legend_labels(cwb_store *s, const cwb_legend_run *runs, int n, char **labels) {
    for (int i = 0; i < n; i++) labels[i] = NULL;
    if (n <= 0) return 0;
    leaves *lv = calloc((size_t)n, sizeof *lv);
    if (!lv) return -1;
    int rc = 0, same_name = 1;
    for (int i = 0; i < n; i++) {
        /* a record SQLite cannot read leaves this run with its name alone */
        if (s && runs[i].params && *runs[i].params)
            cwb_store_json_leaves(s, runs[i].params, add_leaf, &lv[i]);
        if (lv[i].oom) rc = -1;
        if (strcmp(runs[i].name ? runs[i].name : "", runs[0].name ? runs[0].name : "") != 0)
            same_name = 0;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        const char *name = runs[i].name ? runs[i].name : "";
        cwb_buf b = CWB_BUF_INIT;
        if (n == 1) cwb_buf_str(&b, name);
        else if (!same_name) distinct_words(&b, name, runs, n);
        for (int k = 0; k < lv[i].n; k++) {
            const char *key = lv[i].key[k], *v = lv[i].val[k];
            int differs = 0;
            for (int j = 0; j < n && !differs; j++) {
                if (j == i || strcmp(runs[j].name ? runs[j].name : "", name) != 0) continue;
                const char *w = value_of(&lv[j], key);
                differs = !w || strcmp(w, v) != 0;
            }
            if (!differs) continue;
            if (b.n) cwb_buf_char(&b, ' ');
            cwb_buf_printf(&b, "%s=%s", short_key(key), v);
        }
        if (b.n == 0) cwb_buf_str(&b, name);
        if (!(labels[i] = finish(&b))) rc = -1;
    }
    /* what nothing tells apart gets its id (decided before any label changes) */
    char *dup = rc == 0 ? calloc((size_t)n, 1) : NULL;
    if (rc == 0 && !dup) rc = -1;
    for (int i = 0; i < n && rc == 0; i++)
        for (int j = 0; j < n && !dup[i]; j++) dup[i] = j != i && strcmp(labels[i], labels[j]) == 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!dup[i] || runs[i].id <= 0) continue;
        cwb_buf b = CWB_BUF_INIT;
        cwb_buf_printf(&b, "%s #%lld", labels[i], (long long)runs[i].id);
        char *t = finish(&b);
        if (!t) rc = -1;
        free(labels[i]);
        labels[i] = t;
    }
    free(dup);
    for (int i = 0; i < n; i++) leaves_free(&lv[i]);
    free(lv);
    if (rc)
        for (int i = 0; i < n; i++) {
            free(labels[i]);
            labels[i] = NULL;
        }
    return rc;
}
