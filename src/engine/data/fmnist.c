/*
 * fmnist.c - Fashion-MNIST from its IDX files (fmnist.h).
 *
 * Pixels are divided by 255 (exactly representable steps of 1/255 in
 * [0, 1]) and nothing else is done to them: standardisation belongs to the
 * probes, augmentations to image_augment.c.
 */
#include "engine/data/fmnist.h"
#include "engine/data/idx.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const cwb_fmnist_classes[CWB_FMNIST_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

cwb_fmnist_cfg cwb_fmnist_defaults(void) {
    cwb_fmnist_cfg c;
    memset(&c, 0, sizeof c);
    c.split = CWB_FMNIST_TRAIN;
    c.seed = 1;
    return c;
}

/* The first of DIR/NAME.gz, DIR/NAME, DIR/fashion-mnist/NAME.gz,
 * DIR/fashion-mnist/NAME that exists, into out. */
static int find_one(const char *dir, const char *name, char *out, size_t len) {
    static const char *const fmt[] = {"%s/%s.gz", "%s/%s", "%s/fashion-mnist/%s.gz",
                                      "%s/fashion-mnist/%s"};
    for (size_t i = 0; i < sizeof fmt / sizeof *fmt; i++) {
        int n = snprintf(out, len, fmt[i], dir, name);
        if (n > 0 && (size_t)n < len && access(out, R_OK) == 0) return 1;
    }
    return 0;
}

int cwb_fmnist_find(const char *dir, cwb_fmnist_split split, char *images, char *labels,
                    size_t len) {
    if (!dir || !*dir) dir = CWB_FMNIST_DIR;
    if (split != CWB_FMNIST_TRAIN && split != CWB_FMNIST_TEST)
        return cwb_fail(CWB_EINVAL, "fashion_mnist: split %d is neither train nor test", (int)split);
    if (!images || !labels || len < 2)
        return cwb_fail(CWB_EINVAL, "fashion_mnist: no room for the file names");
    const char *pre = split == CWB_FMNIST_TRAIN ? "train" : "t10k";
    char ni[32], nl[32];
    snprintf(ni, sizeof ni, "%s-images-idx3-ubyte", pre);
    snprintf(nl, sizeof nl, "%s-labels-idx1-ubyte", pre);
    const char *missing = !find_one(dir, ni, images, len) ? ni : !find_one(dir, nl, labels, len) ? nl : NULL;
    if (missing)
        return cwb_fail(CWB_EIO, "fashion_mnist: no %s.gz in %s (nor in %s/fashion-mnist): install "
                                 "the Debian package %s, or give the folder that holds it",
                        missing, dir, dir, CWB_FMNIST_PACKAGE);
    return CWB_OK;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

cwb_dataset *cwb_fmnist_load(const cwb_fmnist_cfg *cfg) {
    if (!cfg) {
        cwb_fail(CWB_EINVAL, "fashion_mnist: NULL configuration");
        return NULL;
    }
    char pi[4096], pl[4096];
    if (cwb_fmnist_find(cfg->dir, cfg->split, pi, pl, sizeof pi) != CWB_OK) return NULL;
    cwb_idx *im = cwb_idx_read(pi), *lb = NULL;
    cwb_dataset *d = NULL;
    int *keep = NULL;
    if (!im) goto fail;
    char shape[96];
    cwb_idx_shape(im, shape, sizeof shape);
    if (im->type != 0x08 || im->rank != 3 || im->dims[1] != 28 || im->dims[2] != 28) {
        cwb_fail(CWB_EIO, "%s: expected ubyte images of 28 x 28 pixels, the header says %s %s",
                 pi, cwb_idx_type_name(im->type), shape);
        goto fail;
    }
    if (!(lb = cwb_idx_read(pl))) goto fail;
    const int N = im->x->rows;
    if (!lb->labels || lb->type != 0x08 || lb->x->rows != N) {
        cwb_idx_shape(lb, shape, sizeof shape);
        cwb_fail(CWB_EIO, "%s: expected %d ubyte labels (one per image of %s), the header says "
                          "%s %s", pl, N, pi, cwb_idx_type_name(lb->type), shape);
        goto fail;
    }
    for (int i = 0; i < N; i++)
        if (lb->labels[i] >= CWB_FMNIST_CLASSES) {
            cwb_fail(CWB_EIO, "%s: label %d (byte %d) is %d, outside 0..9", pl, i, 8 + i,
                     lb->labels[i]);
            goto fail;
        }
    int n = cfg->n;
    if (n < 0 || n > N) {
        cwb_fail(CWB_EINVAL, "fashion_mnist: n = %d outside 0..%d (the %s split)", n, N,
                 cfg->split == CWB_FMNIST_TRAIN ? "train" : "test");
        goto fail;
    }
    if (n == 0) n = N;
    keep = malloc((size_t)N * sizeof *keep);
    d = calloc(1, sizeof *d);
    if (!keep || !d) goto nomem;
    if (cfg->random_subset && n < N) {
        cwb_rng r;
        cwb_rng_seed(&r, cfg->seed, CWB_STREAM_DATA);
        cwb_rng_permutation(&r, keep, N);
        qsort(keep, (size_t)n, sizeof *keep, cmp_int);
    } else
        for (int i = 0; i < n; i++) keep[i] = i;

    d->n = n;
    d->dim = 28 * 28;
    d->height = d->width = 28;
    d->clusters = CWB_FMNIST_CLASSES;
    d->class_names = cwb_fmnist_classes;
    d->x = cwb_tensor_new(n, d->dim);
    d->labels = malloc((size_t)n * sizeof *d->labels);
    if (!d->x || !d->labels) goto nomem;
    for (int i = 0; i < n; i++) {
        const float *src = im->x->data + (size_t)keep[i] * d->dim;
        float *dst = d->x->data + (size_t)i * d->dim;
        for (int j = 0; j < d->dim; j++) dst[j] = src[j] / 255.0f;   /* as torchvision ToTensor */
        d->labels[i] = lb->labels[keep[i]];
    }
    if (cwb_dataset_index(d) != CWB_OK) goto fail;
    cwb_idx_free(im);
    cwb_idx_free(lb);
    free(keep);
    return d;

nomem:
    cwb_fail(CWB_ENOMEM, "fashion_mnist: out of memory");
fail:
    cwb_idx_free(im);
    cwb_idx_free(lb);
    free(keep);
    cwb_dataset_free(d);
    return NULL;
}
