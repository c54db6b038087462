/*
 * topk.h - keeping the k largest scores of a stream, for the kNN probes
 * (probe.c: Euclidean, knn.c: weighted cosine).
 *
 * Layer: engine/eval, internal: included by the eval sources only.
 *
 * best[0..m) holds the scores seen so far in descending order and idx[] their
 * indices.  A score equal to one already kept goes after it, so among equal
 * scores the one seen first (the lower index, in a scan) ranks first.
 */
#ifndef CWB_TOPK_H
#define CWB_TOPK_H

/* Offer score s of item j; returns the new count (at most k). */
static inline int cwb_topk_offer(float *best, int *idx, int m, int k, float s, int j) {
    if (m == k && !(s > best[m - 1])) return m;
    int p = m < k ? m++ : m - 1;
    while (p > 0 && best[p - 1] < s) {
        best[p] = best[p - 1];
        idx[p] = idx[p - 1];
        p--;
    }
    best[p] = s;
    idx[p] = j;
    return m;
}

#endif
