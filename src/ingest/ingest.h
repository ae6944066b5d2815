/* ingest.h — turns one .h5ad file into one immutable bundle (.cgb): the h5ad reader feeds the bundle writer.
 *
 *   h5ad file ──cg_h5ad_*──> obs/var frames, embeddings, uns ──┐
 *            └─matrix blocks (rows or columns, streamed)───────┴─> cg_bundle_write ──> OUT.cgb (atomic rename)
 *
 * Contract: on success OUT exists and is complete; on any failure it does not exist (the writer removes its
 * temporary file) and err names the HDF5 path or bundle section at fault. Single-threaded caller; the writer
 * may use worker threads internally. Warnings from the reader are handed to the caller's warn callback.
 */
#ifndef CG_INGEST_INGEST_H
#define CG_INGEST_INGEST_H

#include <stdint.h>

#include "base/err.h"
#include "bundle/bundle_write.h"

typedef struct cg_ingest_opts {
  const char *matrix;      /* "X" (default when NULL), "raw" or "layer:NAME" */
  cg_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  void (*on_warning)(void *ctx, const char *msg); /* may be NULL */
  void *warning_ctx;
} cg_ingest_opts;

typedef struct cg_ingest_report {
  int64_t n_obs, n_vars, nnz_in;
  char matrix[64]; /* the matrix ingested ("X", "raw", "layer:NAME"), "" when the file has none */
  int n_embeddings;
} cg_ingest_report;

/* Ingests in_path into out_path. report may be NULL. Returns 0 or a negative cg_errcode. */
int cg_ingest_run(const char *in_path, const char *out_path, const cg_ingest_opts *opts, cg_ingest_report *report,
                  cg_err *err);

#endif
