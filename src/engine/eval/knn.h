/*
 * knn.h - the weighted kNN classifier of the SimCLR evaluation protocol
 * (methods.md, "Real data"): InstDisc's vote (Wu et al. 2018).
 *
 * Layer: engine/eval.  Included by the trainers' evaluation, the Lua
 * binding (src/lua/lmetrics.c) and tests.
 *
 * Rows are compared by cosine similarity s (each row divided by its norm; a
 * zero row has similarity 0 with everything); the knn training rows with
 * the largest s each add exp(s / temperature) to their class's score, and
 * the class with the largest score is the prediction.  Equal similarities
 * rank the lower training index first; equal scores go to the lower class.
 * Defaults: knn = 20, temperature = 0.07.  The similarities are sgemm
 * blocks of 128 test rows against all training rows; memory O(128 ntrain).
 * Allocates its block buffer per call (evaluation, not a training step).
 */
#ifndef CWB_KNN_H
#define CWB_KNN_H

#define CWB_KNN_K 20
#define CWB_KNN_TEMPERATURE 0.07

/*
 * Predict each of the ntest rows of test (ntest x k) from the ntrain rows
 * of train and their labels ytrain (0..K-1).  pred[ntest] (nullable) gets
 * the predictions; acc (nullable) the accuracy against ytest (which may be
 * NULL when acc is).  leave_one_out: the test rows are the training rows
 * (ntest == ntrain) and row i is not its own neighbour, so acc is the
 * leave-one-out accuracy.  1 <= knn <= ntrain (- 1 with leave_one_out),
 * temperature > 0.  Errors (one message): shapes, labels outside 0..K-1,
 * non-finite values.
 */
int cwb_knn_weighted(const float *train, const int *ytrain, int ntrain, const float *test,
                     const int *ytest, int ntest, int k, int K, int knn, double temperature,
                     int leave_one_out, double *acc, int *pred);

#endif
