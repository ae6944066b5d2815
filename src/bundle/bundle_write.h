/* bundle_write.h — writes an immutable dataset bundle (.cgb; spec in docs/FORMAT.md) from a dataset held
 * partly in memory (annotations, embeddings) and a matrix streamed in blocks of major-axis lines.
 *
 * Contract
 *  - The output appears atomically: data go to "<path>.tmp.<pid>" and are renamed to path only after every
 *    section is written, checksummed and fsynced; on any error the temporary file is removed, so no partial
 *    bundle is ever left behind.
 *  - Deterministic: the same input gives the same bytes, hence the same bundle id (a hash of the contents).
 *  - Memory: annotations and embeddings are in memory already; matrix work is bounded by a working set of
 *    block buffers, not by nnz (the matrix sections live only in the output file: page cache and disk).
 *  - Threads: one call at a time per output; read_block is called from the calling thread only (the writer's
 *    own threads never call it); they are joined before cg_bundle_write returns.
 */
#ifndef CG_BUNDLE_BUNDLE_WRITE_H
#define CG_BUNDLE_BUNDLE_WRITE_H

#include <stdint.h>

#include "base/err.h"
#include "base/frame.h"
#include "base/sparse.h"
#include "bundle/bundle.h"

/* cg_bundle_embedding and cg_bundle_colors are declared in bundle/bundle.h (shared with the reader). */

/* Fills blk with `count` major-axis lines starting at `first` (see base/sparse.h invariants). */
typedef int (*cg_block_reader)(void *ctx, int64_t first, int64_t count, cg_sparse_block *blk, cg_err *err);

/* Called now and then with a phase name ("rows", "columns", "checksums") and progress in [0,1]. */
typedef void (*cg_progress_fn)(void *ctx, const char *phase, double fraction);

typedef struct cg_bundle_input {
  int64_t n_obs, n_vars;
  const cg_frame *obs; /* n_obs rows (required) */
  const cg_frame *var; /* n_vars rows (required) */
  const cg_bundle_embedding *emb;
  int n_emb;
  const cg_bundle_colors *colors;
  int n_colors;
  const char *title;             /* may be NULL */
  const char *default_embedding; /* may be NULL */
  /* The matrix. matrix_name NULL = no matrix in the bundle (X absent): then read_block is unused. */
  const char *matrix_name;  /* "X", "raw", "layer:NAME" */
  const char *source_dtype; /* value dtype in the source, e.g. "float64" */
  int major_axis;           /* 0: blocks are rows (CSR/dense source); 1: blocks are columns (CSC source) */
  int64_t nnz;              /* stored entries the source announces (upper bound for dense sources) */
  cg_block_reader read_block;
  void *ctx;
  cg_progress_fn progress; /* may be NULL */
  void *progress_ctx;
} cg_bundle_input;

/* Writes the bundle to path. Returns 0, or a negative code with err naming the section or line at fault. */
int cg_bundle_write(const cg_bundle_input *in, const char *path, cg_err *err);

#endif
