/*
 * fmnist.h - the Fashion-MNIST data set (Xiao et al. 2017) as a cwb_dataset.
 *
 * Layer: engine/data.  Included by the Lua binding (src/lua/ldata.c) and
 * tests.
 *
 * Debian's dataset-fashion-mnist installs the four IDX files under
 * /usr/share/datasets/fashion-mnist/: train-images-idx3-ubyte.gz (60000 x
 * 28 x 28), train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz (10000)
 * and t10k-labels-idx1-ubyte.gz.  A folder is searched for the files
 * directly and in its fashion-mnist/ sub-folder, with or without .gz, so
 * both /usr/share/datasets and /usr/share/datasets/fashion-mnist work.
 *
 * The data set has rows of 784 pixels (height = width = 28, row-major),
 * each byte divided by 255 so pixels are in [0, 1]; labels 0..9 with the
 * names in cwb_fmnist_classes; x, labels and the cluster index as in any
 * cwb_dataset (z is NULL).
 */
#ifndef CWB_FMNIST_H
#define CWB_FMNIST_H

#include <stddef.h>
#include <stdint.h>

#include "engine/data/data.h"

#define CWB_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define CWB_FMNIST_PACKAGE "dataset-fashion-mnist"
#define CWB_FMNIST_CLASSES 10

/* "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
 * "Sneaker", "Bag", "Ankle boot" (the data set's own names, label order). */
extern const char *const cwb_fmnist_classes[CWB_FMNIST_CLASSES];

typedef enum { CWB_FMNIST_TRAIN = 0, CWB_FMNIST_TEST = 1 } cwb_fmnist_split;

typedef struct {
    const char *dir;     /* folder to search; NULL or "" = CWB_FMNIST_DIR */
    cwb_fmnist_split split;
    int n;               /* rows to keep, 0 = the whole split (60000 or 10000) */
    int random_subset;   /* 0: the first n rows in file order; 1: n rows drawn
                          * uniformly without replacement (CWB_STREAM_DATA of
                          * seed), kept in file order */
    uint64_t seed;
} cwb_fmnist_cfg;

/* Defaults: dir NULL, train split, all rows, first-n subset, seed 1. */
cwb_fmnist_cfg cwb_fmnist_defaults(void);

/* Find the split's two files under dir (as described above): 0 with their
 * paths, or CWB_EIO with a one-line message naming the missing file, where
 * it was looked for and the Debian package that provides it. */
int cwb_fmnist_find(const char *dir, cwb_fmnist_split split, char *images, char *labels,
                    size_t len);

/* Load the split.  NULL with a one-line message on a missing or malformed
 * file (idx.h), images that are not 28 x 28 unsigned bytes, a label file
 * that does not match them, a label outside 0..9, or n outside 0..rows. */
cwb_dataset *cwb_fmnist_load(const cwb_fmnist_cfg *cfg);

#endif
