/*
 * image_augment.h - augmentations of grey images stored as rows (height x
 * width pixels, row-major), the two views of a contrastive pair on real
 * images (docs/data.md, "Image augmentations").
 *
 * Layer: engine/data.  Included by the trainers, the Lua binding
 * (src/lua/ldata.c) and tests.
 *
 * Per image, in this order, each transform off at strength 0 (and then
 * drawing no random numbers):
 *   1. crop: either a random crop with zero padding (crop_pad = p: the image
 *      is shifted by (dy, dx), each uniform in -p..p, uncovered pixels 0;
 *      torchvision RandomCrop(size, padding=p)), or a random resized crop
 *      (crop_scale = s: a rectangle of area fraction U(s, 1) and aspect
 *      ratio log-uniform in [3/4, 4/3], resized bilinearly back to height x
 *      width; torchvision RandomResizedCrop(size, scale=(s, 1))).  Not both.
 *   2. flip: with probability `flip`, each row is reversed (mirror image).
 *   3. brightness / contrast jitter: x <- f_b x, then x <- m + f_c (x - m)
 *      with m the image's mean, f_b ~ U(1-brightness, 1+brightness), f_c ~
 *      U(1-contrast, 1+contrast); the two commute (both scale deviations
 *      and the mean together), then pixels are clamped to [0, 1] as
 *      torchvision's ColorJitter does for float images.
 *   4. noise: x <- x + noise * N(0, 1) per pixel (not clamped).
 *   5. erase: with probability `erase`, a rectangle of area fraction
 *      U(erase_min, erase_max) and aspect ratio log-uniform in
 *      [1/erase_ratio, erase_ratio] is set to 0 (torchvision RandomErasing,
 *      value 0; up to 10 tries to fit, then nothing).  Last, so erased
 *      pixels are exactly 0.
 */
#ifndef CWB_IMAGE_AUGMENT_H
#define CWB_IMAGE_AUGMENT_H

#include "engine/core/rng.h"
#include "util/json.h"

typedef struct {
    int height, width;   /* image shape; rows are height * width pixels */
    int crop_pad;        /* random crop with zero padding of crop_pad pixels; 0 = off */
    float crop_scale;    /* random resized crop, smallest area fraction in (0, 1]; 0 = off */
    float flip;          /* probability of a horizontal flip, [0, 1] */
    float brightness;    /* brightness factor range 1 +- brightness, [0, 1] */
    float contrast;      /* contrast factor range 1 +- contrast, [0, 1] */
    float noise;         /* Gaussian noise std, >= 0 */
    float erase;         /* probability of erasing a rectangle, [0, 1] */
    float erase_min, erase_max;  /* its area fraction range, 0 < min <= max < 1 */
    float erase_ratio;   /* its aspect ratio range [1/r, r], r >= 1 */
} cwb_imaug_cfg;

/* Defaults for small grey images (SimCLR's recipe scaled to 28 x 28):
 * crop_scale 0.25 (crop_pad 0), flip 0.5, brightness 0.4, contrast 0.4,
 * noise 0, erase 0 with erase_min 0.02, erase_max 0.33, erase_ratio 3.3
 * (torchvision's RandomErasing defaults). */
cwb_imaug_cfg cwb_imaug_defaults(int height, int width);
/* Every transform off (the identity), for building a configuration up. */
cwb_imaug_cfg cwb_imaug_none(int height, int width);

/* The config as the member `key` of the JSON object j is writing (the
 * shape, then every strength). */
void cwb_imaug_describe(const cwb_imaug_cfg *c, const char *key, cwb_json *j);

typedef struct cwb_imaug cwb_imaug;

/* Validates cfg (one message naming the field) and allocates every buffer
 * the transforms need, once. */
cwb_imaug *cwb_imaug_new(const cwb_imaug_cfg *cfg);
void cwb_imaug_free(cwb_imaug *a);
const cwb_imaug_cfg *cwb_imaug_config(const cwb_imaug *a);

/* out[B x height*width] = augment(x[B x height*width]); out must not
 * overlap x.  Random numbers from r, per image in the order above, so the
 * same stream gives the same views.  Does not allocate. */
int cwb_imaug_apply(cwb_imaug *a, const float *x, float *out, int B, cwb_rng *r);

#endif
