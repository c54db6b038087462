/* test_idx.c - the IDX reader (idx.h) and the Fashion-MNIST loader (fmnist.h):
 * good files of every type, plain and gzip; every kind of bad file; a fuzz
 * loop of truncations and bit flips; the real data set when installed. */
#include "engine/data/idx.h"
#include "engine/data/fmnist.h"
#include "engine/core/error.h"
#include "../tap.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];

static const char *tpath(const char *name) {
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static void put(const char *path, const void *bytes, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f) { perror(path); exit(99); }
        if (n) gzwrite(f, bytes, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f) { perror(path); exit(99); }
        if (n) fwrite(bytes, 1, n, f);
        fclose(f);
    }
}

/* An IDX image in memory: header then values, big-endian. */
typedef struct {
    unsigned char b[1 << 16];
    size_t n;
} blob;

static void be(blob *o, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) o->b[o->n++] = (unsigned char)(v >> (8 * i));
}

static void header(blob *o, int type, int rank, const uint32_t *dims) {
    o->n = 0;
    o->b[o->n++] = 0;
    o->b[o->n++] = 0;
    o->b[o->n++] = (unsigned char)type;
    o->b[o->n++] = (unsigned char)rank;
    for (int i = 0; i < rank; i++) be(o, dims[i], 4);
}

/* A 2 x 3 file of the given type holding values v[t] = t - 2 (+0.5 for floats). */
static void six_values(blob *o, int type) {
    const uint32_t d[2] = {2, 3};
    header(o, type, 2, d);
    for (int t = 0; t < 6; t++) {
        double v = t - 2 + (type >= 0x0D ? 0.5 : 0);
        switch (type) {
        case 0x08: be(o, (uint64_t)(t * 40), 1); break;
        case 0x09: be(o, (uint64_t)(uint8_t)(int8_t)(t - 2), 1); break;
        case 0x0B: be(o, (uint64_t)(uint16_t)(int16_t)(t - 2), 2); break;
        case 0x0C: be(o, (uint64_t)(uint32_t)(int32_t)(t - 2), 4); break;
        case 0x0D: { float f = (float)v; uint32_t u; memcpy(&u, &f, 4); be(o, u, 4); break; }
        default: { uint64_t u; memcpy(&u, &v, 8); be(o, u, 8); break; }
        }
    }
}

static int one_line_about(const char *path, const char *word) {
    const char *m = cwb_errmsg();
    return m[0] && !strchr(m, '\n') && strstr(m, path) == m && strstr(m, word) != NULL;
}

static void test_good(void) {
    static const int types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
    for (int gz = 0; gz < 2; gz++)
        for (size_t q = 0; q < sizeof types / sizeof *types; q++) {
            blob o;
            six_values(&o, types[q]);
            const char *p = tpath(gz ? "six.idx.gz" : "six.idx");
            put(p, o.b, o.n, gz);
            cwb_idx *f = cwb_idx_read(p);
            int good = f && f->type == types[q] && f->rank == 2 && f->dims[0] == 2 &&
                       f->dims[1] == 3 && f->x->rows == 2 && f->x->cols == 3 && !f->labels;
            for (int t = 0; good && t < 6; t++) {
                double want = types[q] == 0x08 ? t * 40 : t - 2 + (types[q] >= 0x0D ? 0.5 : 0);
                good = f->x->data[t] == (float)want;
            }
            ok(good, "%s %s file: sizes, values, row-major order (%s)", gz ? "gzip" : "plain",
               cwb_idx_type_name(types[q]), f ? "read" : cwb_errmsg());
            cwb_idx_free(f);
        }

    /* rank 1 integer files carry labels; rank 4 folds into rows x (d1 d2 d3) */
    blob o;
    const uint32_t d1[1] = {5};
    header(&o, 0x08, 1, d1);
    for (int t = 0; t < 5; t++) be(&o, (uint64_t)(9 - t), 1);
    put(tpath("lab.idx.gz"), o.b, o.n, 1);
    cwb_idx *f = cwb_idx_read(tpath("lab.idx.gz"));
    ok(f && f->labels && f->x->rows == 5 && f->x->cols == 1 && f->labels[0] == 9 &&
           f->labels[4] == 5 && f->x->data[4] == 5.0f,
       "a rank-1 ubyte file gives 5 x 1 values and integer labels");
    cwb_idx_free(f);
    const uint32_t d4[4] = {2, 3, 4, 5};
    header(&o, 0x08, 4, d4);
    for (int t = 0; t < 120; t++) be(&o, (uint64_t)t, 1);
    put(tpath("r4.idx"), o.b, o.n, 0);
    f = cwb_idx_read(tpath("r4.idx"));
    ok(f && f->rank == 4 && f->x->rows == 2 && f->x->cols == 60 && f->x->data[61] == 61.0f &&
           !f->labels,
       "rank 4: rows = first size, columns = product of the rest (2 x 60)");
    cwb_idx_free(f);
}

typedef struct {
    const char *name, *word;
} bad_case;

static void expect_bad(const char *name, const blob *o, int gz, const char *word, const char *what) {
    const char *p = tpath(name);
    put(p, o->b, o->n, gz);
    cwb_clear_error();
    cwb_idx *f = cwb_idx_read(p);
    ok(!f && cwb_errmsg()[0] && one_line_about(p, word), "%s: refused with one line naming the file "
       "and '%s' (\"%s\")", what, word, cwb_errmsg());
    cwb_idx_free(f);
}

static void test_bad(void) {
    blob o, g;
    six_values(&g, 0x08);

    o = g; o.n = 3;
    expect_bad("t3.idx", &o, 0, "truncated header", "3-byte file");
    ok(strstr(cwb_errmsg(), "byte 3") && strstr(cwb_errmsg(), "bytes 0-3"),
       "  ... says where the file ends and which bytes were needed");
    o = g; o.n = 9;
    expect_bad("t9.idx", &o, 1, "truncated header", "gzip file cut inside the sizes");
    ok(strstr(cwb_errmsg(), "bytes 4-11") != NULL, "  ... the two sizes need bytes 4-11");
    o = g; o.n = 12 + 4;
    expect_bad("td.idx", &o, 0, "truncated data", "data section 2 bytes short");
    ok(strstr(cwb_errmsg(), "ends at byte 16") && strstr(cwb_errmsg(), "bytes 12-17"),
       "  ... the file ends at byte 16, the values need bytes 12-17");
    o = g; o.n = 12;
    expect_bad("t0.idx", &o, 1, "truncated data", "header only, no data (gzip)");
    o = g; o.b[0] = 0x1f; o.b[1] = 0x8c;
    expect_bad("magic.idx", &o, 0, "bad magic", "non-zero first bytes");
    o = g; o.b[2] = 0x0A;
    expect_bad("type.idx", &o, 0, "unknown type code 0x0a", "type code 0x0A");
    o = g; o.b[3] = 0; o.n = 4;
    expect_bad("rank0.idx", &o, 0, "rank 0", "rank 0");
    const uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    header(&o, 0x0E, 3, huge);
    expect_bad("huge.idx", &o, 0, "too large", "sizes 2^32-1 x 2^32-1 x 2^32-1");
    const uint32_t big[2] = {70000, 70000};   /* 4.9e9 values: over the 2^31 cap */
    header(&o, 0x08, 2, big);
    expect_bad("big.idx", &o, 0, "too large", "70000 x 70000 (product over 2^31)");
    const uint32_t lie[2] = {30000, 30000};    /* 9e8 values claimed, none present */
    header(&o, 0x0D, 2, lie);
    expect_bad("lie.idx", &o, 1, "truncated data", "a header claiming 3.6 GB of floats");
    const uint32_t zero[2] = {2, 0};
    header(&o, 0x08, 2, zero);
    expect_bad("zero.idx", &o, 0, "size 2 of 2 is 0", "a zero size");
    o = g; o.b[o.n++] = 7;
    expect_bad("extra.idx", &o, 0, "unexpected bytes after the data", "one byte too many");

    /* float data: NaN and infinities are refused, naming the value */
    const uint32_t d1[1] = {3};
    header(&o, 0x0D, 1, d1);
    be(&o, 0x3f800000u, 4);
    be(&o, 0x7fc00000u, 4);
    be(&o, 0x3f800000u, 4);
    expect_bad("nan.idx", &o, 0, "value 1 (byte 12) is NaN", "a NaN float");
    header(&o, 0x0E, 1, d1);
    be(&o, 0, 8);
    be(&o, 0, 8);
    be(&o, 0x7fefffffffffffffull, 8);
    expect_bad("dmax.idx", &o, 0, "value 2 (byte 24) is beyond float range", "a double > FLT_MAX");

    /* gzip garbage: the gzip magic, then noise */
    o.n = 0;
    o.b[o.n++] = 0x1f;
    o.b[o.n++] = 0x8b;
    o.b[o.n++] = 8;
    o.b[o.n++] = 0;
    for (int t = 0; t < 60; t++) o.b[o.n++] = (unsigned char)(t * 37 + 11);
    expect_bad("garbage.gz", &o, 0, "gzip", "gzip header followed by garbage");

    /* a valid .gz cut short, and one with a corrupted CRC */
    put(tpath("whole.gz"), g.b, g.n, 1);
    FILE *fp = fopen(tpath("whole.gz"), "rb");
    unsigned char z[512];
    size_t zn = fread(z, 1, sizeof z, fp);
    fclose(fp);
    memcpy(o.b, z, zn);
    o.n = zn - 6;
    expect_bad("cut.gz", &o, 0, "gzip", "a .gz file missing its last 6 bytes");
    o.n = zn;
    o.b[zn - 8] ^= 0x55;   /* the CRC-32 of the trailer */
    expect_bad("crc.gz", &o, 0, "gzip", "a .gz file with a wrong CRC");

    cwb_clear_error();
    cwb_idx *f = cwb_idx_read(tpath("no-such-file.idx"));
    ok(!f && one_line_about(tpath("no-such-file.idx"), "No such file"),
       "a missing file: \"%s\"", cwb_errmsg());
    f = cwb_idx_read(tmpdir);
    ok(!f && cwb_errmsg()[0] && !strchr(cwb_errmsg(), '\n'), "a directory: \"%s\"", cwb_errmsg());
    cwb_idx_free(f);
}

/* Random truncations and bit flips of small files (plain and gzip): every
 * outcome is a consistent file or a one-line message, never a crash (the
 * suite runs this under ASan/UBSan too). */
static void test_fuzz(void) {
    blob g;
    const uint32_t d[3] = {3, 2, 4};
    header(&g, 0x0B, 3, d);
    for (int t = 0; t < 24; t++) be(&g, (uint64_t)(t * 1000), 2);
    put(tpath("seed.gz"), g.b, g.n, 1);
    FILE *fp = fopen(tpath("seed.gz"), "rb");
    unsigned char gzb[512];
    size_t gzn = fread(gzb, 1, sizeof gzb, fp);
    fclose(fp);

    uint64_t s = 0x9e3779b97f4a7c15ull;
    int consistent = 1, messages = 1, accepted = 0, refused = 0;
    for (int it = 0; it < 3000; it++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        int gz = it & 1;
        blob o;
        memcpy(o.b, gz ? gzb : g.b, gz ? gzn : g.n);
        o.n = gz ? gzn : g.n;
        if (s % 3 == 0) o.n = (size_t)((s >> 8) % o.n);           /* truncate */
        else
            for (int k = 0; k < 1 + (int)((s >> 4) % 3); k++) {  /* flip 1-3 bits */
                size_t at = (size_t)((s >> (10 + 7 * k)) % o.n);
                o.b[at] ^= (unsigned char)(1u << ((s >> (30 + 3 * k)) & 7));
            }
        const char *p = tpath("fuzz.idx");
        put(p, o.b, o.n, 0);
        cwb_clear_error();
        cwb_idx *f = cwb_idx_read(p);
        if (f) {
            accepted++;
            int64_t cols = 1;
            for (int i = 1; i < f->rank; i++) cols *= f->dims[i];
            if (f->x->rows != (int)f->dims[0] || f->x->cols != cols ||
                cwb_has_nonfinite(f->x->data, cwb_tensor_size(f->x)))
                consistent = 0;
        } else {
            refused++;
            if (!one_line_about(p, ":")) messages = 0;
        }
        cwb_idx_free(f);
    }
    ok(consistent, "fuzz: %d accepted mutants have sizes matching their values", accepted);
    ok(messages && refused > 1000, "fuzz: %d refused mutants each got one line naming the file",
       refused);
}

/* A fake Fashion-MNIST folder: the loader's own checks without the package. */
static void fake_split(const char *dir, const char *pre, int n, int bad_label, int size) {
    blob o;
    uint32_t d[3] = {(uint32_t)n, (uint32_t)size, (uint32_t)size};
    header(&o, 0x08, 3, d);
    for (int i = 0; i < n * size * size; i++) be(&o, (uint64_t)((i * 7) % 256), 1);
    char p[512];
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte.gz", dir, pre);
    put(p, o.b, o.n, 1);
    uint32_t dl[1] = {(uint32_t)n};
    header(&o, 0x08, 1, dl);
    for (int i = 0; i < n; i++) be(&o, (uint64_t)(i == 2 && bad_label ? 10 : i % 10), 1);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, pre);   /* uncompressed works too */
    put(p, o.b, o.n, 0);
}

static void test_fmnist_fake(void) {
    char dir[512], sub[600];
    snprintf(dir, sizeof dir, "%s/data", tmpdir);
    snprintf(sub, sizeof sub, "%s/fashion-mnist", dir);
    mkdir(dir, 0777);
    mkdir(sub, 0777);
    char pi[1024], pl[1024];
    cwb_clear_error();
    ok(cwb_fmnist_find(dir, CWB_FMNIST_TEST, pi, pl, sizeof pi) == CWB_EIO &&
           strstr(cwb_errmsg(), "t10k-images-idx3-ubyte.gz") &&
           strstr(cwb_errmsg(), CWB_FMNIST_PACKAGE) && !strchr(cwb_errmsg(), '\n'),
       "missing files: one line naming the file and the Debian package (\"%s\")", cwb_errmsg());
    fake_split(sub, "t10k", 12, 0, 28);
    ok(cwb_fmnist_find(dir, CWB_FMNIST_TEST, pi, pl, sizeof pi) == CWB_OK &&
           strstr(pi, "/fashion-mnist/t10k-images-idx3-ubyte.gz") &&
           strstr(pl, "t10k-labels-idx1-ubyte") && !strstr(pl, ".gz"),
       "files are found in DIR/fashion-mnist, .gz or not");
    cwb_fmnist_cfg c = cwb_fmnist_defaults();
    c.dir = dir;
    c.split = CWB_FMNIST_TEST;
    cwb_dataset *d = cwb_fmnist_load(&c);
    int good = d && d->n == 12 && d->dim == 784 && d->height == 28 && d->width == 28 &&
               d->clusters == 10 && d->class_names == cwb_fmnist_classes && !d->z;
    for (int i = 0; good && i < 12 * 784; i++) good = d->x->data[i] == (float)((i * 7) % 256) / 255.0f;
    for (int i = 0; good && i < 12; i++) good = d->labels[i] == i % 10;
    ok(good, "fake test split: 12 x 784 pixels byte/255 in [0, 1], labels, 28 x 28, class names");
    ok(d && d->cluster_start[10] == 12 && d->cluster_start[1] == 2 && d->by_cluster[1] == 10,
       "the cluster index is built (class 0 = samples 0 and 10)");
    cwb_dataset_free(d);
    c.n = 5;
    d = cwb_fmnist_load(&c);
    ok(d && d->n == 5 && d->labels[4] == 4 && d->x->data[4 * 784] == (float)((4 * 784 * 7) % 256) / 255.0f,
       "n = 5: the first five rows");
    cwb_dataset_free(d);
    c.random_subset = 1;
    c.seed = 3;
    cwb_dataset *a = cwb_fmnist_load(&c), *b = cwb_fmnist_load(&c);
    c.seed = 4;
    cwb_dataset *o = cwb_fmnist_load(&c);
    int sorted = a && b && o;
    for (int i = 1; sorted && i < 5; i++) sorted = a->x->data[i * 784] > a->x->data[(i - 1) * 784] ||
                                                  a->labels[i] > a->labels[i - 1];
    ok(a && b && o && !memcmp(a->x->data, b->x->data, 5 * 784 * sizeof(float)) &&
           memcmp(a->labels, o->labels, 5 * sizeof(int)) != 0,
       "random subset: same seed same rows, another seed other rows");
    ok(sorted, "random subset: rows kept in file order");
    cwb_dataset_free(a);
    cwb_dataset_free(b);
    cwb_dataset_free(o);
    c.n = 13;
    cwb_clear_error();
    ok(!cwb_fmnist_load(&c) && strstr(cwb_errmsg(), "n = 13 outside 0..12"), "n beyond the split: \"%s\"",
       cwb_errmsg());
    c = cwb_fmnist_defaults();
    c.dir = sub;
    c.split = CWB_FMNIST_TRAIN;
    fake_split(sub, "train", 4, 1, 28);
    ok(!cwb_fmnist_load(&c) && strstr(cwb_errmsg(), "label 2 (byte 10) is 10"),
       "a label outside 0..9: \"%s\"", cwb_errmsg());
    fake_split(sub, "train", 4, 0, 27);
    ok(!cwb_fmnist_load(&c) && strstr(cwb_errmsg(), "the header says ubyte 4 x 27 x 27"),
       "27 x 27 images: \"%s\"", cwb_errmsg());
    fake_split(sub, "train", 4, 0, 28);
    uint32_t dl[1] = {3};
    blob lab;
    header(&lab, 0x08, 1, dl);
    for (int i = 0; i < 3; i++) be(&lab, 1, 1);
    put(tpath("data/fashion-mnist/train-labels-idx1-ubyte"), lab.b, lab.n, 0);
    ok(!cwb_fmnist_load(&c) && strstr(cwb_errmsg(), "expected 4 ubyte labels") &&
           strstr(cwb_errmsg(), "says ubyte 3"),
       "3 labels for 4 images: \"%s\"", cwb_errmsg());
}

static void test_fmnist_real(void) {
    char pi[1024], pl[1024];
    if (cwb_fmnist_find(NULL, CWB_FMNIST_TRAIN, pi, pl, sizeof pi) != CWB_OK) {
        for (int t = 0; t < 4; t++)
            skip("Fashion-MNIST not installed (apt-get install %s)", CWB_FMNIST_PACKAGE);
        return;
    }
    cwb_fmnist_cfg c = cwb_fmnist_defaults();
    cwb_dataset *d = cwb_fmnist_load(&c);
    ok(d && d->n == 60000 && d->dim == 784, "train split: 60000 x 784 (%s)", d ? "loaded" : cwb_errmsg());
    if (!d) return;
    int counts = 1;
    for (int k = 0; k < 10; k++) counts &= d->cluster_start[k + 1] - d->cluster_start[k] == 6000;
    ok(counts, "train split: 6000 images of each class");
    double s = 0, s2 = 0, lo = 1, hi = 0;
    size_t nv = cwb_tensor_size(d->x);
    for (size_t t = 0; t < nv; t++) {
        double v = d->x->data[t];
        s += v;
        s2 += v * v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    double mean = s / nv, sd = sqrt(s2 / nv - mean * mean);
    /* the data set's well-known normalisation constants: 0.2860, 0.3530 */
    ok(fabs(mean - 0.2860) < 5e-4 && fabs(sd - 0.3530) < 5e-4 && lo == 0 && hi == 1,
       "train pixels: mean %.4f (0.2860), std %.4f (0.3530), range [%g, %g]", mean, sd, lo, hi);
    cwb_dataset_free(d);
    c.split = CWB_FMNIST_TEST;
    d = cwb_fmnist_load(&c);
    counts = d && d->n == 10000;
    for (int k = 0; counts && k < 10; k++) counts &= d->cluster_start[k + 1] - d->cluster_start[k] == 1000;
    ok(counts, "test split: 10000 images, 1000 per class");
    cwb_dataset_free(d);
}

int main(void) {
    if (tap_tmpdir(tmpdir, sizeof tmpdir, "idx")) return 99;
    test_good();
    test_bad();
    test_fuzz();
    test_fmnist_fake();
    test_fmnist_real();
    tap_rmtree(tmpdir);
    return done_testing();
}
