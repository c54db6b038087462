/*
 * dataset.c - what every data set shares (data.h): freeing it, and the
 * index of its samples by cluster that the batch sampler draws from.
 */
#include "engine/data/data.h"
#include "engine/core/error.h"

#include <stdlib.h>
#include <string.h>

void cwb_dataset_free(cwb_dataset *d) {
    if (!d) return;
    cwb_tensor_free(d->x);
    cwb_tensor_free(d->z);
    free(d->labels);
    free(d->cluster_start);
    free(d->by_cluster);
    free(d);
}

int cwb_dataset_index(cwb_dataset *d) {
    if (!d || !d->labels || d->n < 1 || d->clusters < 1)
        return cwb_fail(CWB_EINVAL, "dataset: no labels to index");
    const int n = d->n, K = d->clusters;
    for (int i = 0; i < n; i++)
        if (d->labels[i] < 0 || d->labels[i] >= K)
            return cwb_fail(CWB_EINVAL, "dataset: label[%d] = %d outside 0..%d", i, d->labels[i],
                            K - 1);
    d->cluster_start = calloc((size_t)K + 1, sizeof(int));
    d->by_cluster = malloc((size_t)n * sizeof(int));
    int *fill = malloc((size_t)K * sizeof(int));
    if (!d->cluster_start || !d->by_cluster || !fill) {
        free(fill);
        return cwb_fail(CWB_ENOMEM, "dataset: out of memory indexing %d samples", n);
    }
    /* Counting sort of the indices by label, ascending within a cluster: the
     * sampler draws a focus cluster's members from these ranges. */
    for (int i = 0; i < n; i++) d->cluster_start[d->labels[i] + 1]++;
    for (int k = 0; k < K; k++) d->cluster_start[k + 1] += d->cluster_start[k];
    memcpy(fill, d->cluster_start, (size_t)K * sizeof(int));
    for (int i = 0; i < n; i++) d->by_cluster[fill[d->labels[i]]++] = i;
    free(fill);
    return CWB_OK;
}
