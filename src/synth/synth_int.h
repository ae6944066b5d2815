/* synth_int.h — the generator's model and random streams, shared by synth.c (model, rows),
 * synth_annot.c (obs, var, embeddings) and synth_write.c (the .h5ad pipeline). Not a public contract. */
#ifndef CG_SYNTH_SYNTH_INT_H
#define CG_SYNTH_SYNTH_INT_H

#include <math.h>
#include <stdint.h>

#include "synth/synth.h"

/* Independent random streams: a draw is named by (seed, stream, index), never by call order. */
enum { ST_MODEL = 1, ST_CELL, ST_ROW, ST_EMBED, ST_META };

#define CG_SYNTH_N_MITO 13
#define CG_SYNTH_NAMED_TYPES 20

/* Role of a gene: >= 0 marker of that cluster, ROLE_PLAIN, or ROLE_MITO. */
#define ROLE_PLAIN (-1)
#define ROLE_MITO (-2)

struct cg_synth {
  cg_synth_params p;
  int64_t nnz;
  int32_t *cluster;  /* n_cells */
  int32_t *qc_genes; /* n_cells: stored entries (n_genes) */
  float *qc_total;   /* n_cells: total counts */
  float *qc_mito;    /* n_cells: percent of counts in MT- genes */
  float *lambda;     /* n_genes: mean count above 1 when expressed */
  int32_t *role;     /* n_genes */
  uint32_t *alias_p; /* n_genes: alias-table acceptance threshold (x 2^32) */
  uint32_t *alias_i; /* n_genes: alias-table alternative */
  int64_t *markers;  /* n_clusters x n_markers, sorted within a cluster */
  int n_markers;     /* per cluster */
  char **gene_names; /* n_genes */
  char **type_names; /* n_clusters */
  double *cluster_cum; /* n_clusters: cumulative cluster proportions, last = 1 */
  float *center;       /* n_clusters x (2 + CG_SYNTH_PCA_DIMS) */
  float *spread;       /* n_clusters */
};

typedef struct cg__rng {
  uint64_t s[4];
} cg__rng;

static inline uint64_t cg__splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline void cg__rng_seed(cg__rng *r, uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t x = seed;
  x = cg__splitmix(&x) ^ (stream * 0xD1B54A32D192ED03ull);
  x = cg__splitmix(&x) ^ index;
  for (int i = 0; i < 4; i++) r->s[i] = cg__splitmix(&x);
}

/* xoshiro256** */
static inline uint64_t cg__rng_next(cg__rng *r) {
  uint64_t *s = r->s, t = s[1] << 17;
  uint64_t x = s[1] * 5, out = ((x << 7) | (x >> 57)) * 9;
  s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return out;
}

/* Uniform in (0, 1]. */
static inline double cg__rng_unif(cg__rng *r) { return ((cg__rng_next(r) >> 11) + 1) * 0x1.0p-53; }

static inline double cg__rng_normal(cg__rng *r) {
  double u = cg__rng_unif(r), v = cg__rng_unif(r);
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* A cell's cluster, stored-entry count and library-size factor (stream ST_CELL). */
void cg__synth_cell(const cg_synth *s, int64_t i, int *k, int *m, float *lib);

#endif
