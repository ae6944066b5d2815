/* h5ad_write_int.h — what h5ad_write.c (elements, file lifecycle) and h5ad_write_csr.c (streamed CSR
 * matrices over a compression pool) share. Not part of the public contract; see h5ad_write.h. */
#ifndef CG_H5AD_H5AD_WRITE_INT_H
#define CG_H5AD_H5AD_WRITE_INT_H

#include <hdf5.h>

#include "h5ad/h5ad_write.h"

/* Elements per chunk of compressed 1-D datasets (1 MiB of float32, like h5py's chunk-size ceiling). */
#define CG_H5W_CHUNK_ELEMS ((hsize_t)1 << 18)
/* HDF5 filter id of LZF (h5py's registration). */
#define CG_H5W_FILTER_LZF 32000

struct cg_h5ad_writer {
  hid_t file;
  char *path; /* final name */
  char *tmp;  /* "<path>.tmp.<pid>" while open */
  cg_h5ad_write_opts o;
  cg_h5ad_csr *csr; /* the open CSR stream, if any */
};

/* Sets err to code with "<what>: <HDF5's innermost error description>"; returns code. */
int cg__h5w_fail(cg_err *err, int code, const char *what);

/* Writes the encoding-type / encoding-version attributes on an open object. */
int cg__h5w_encoding(hid_t obj, const char *type, const char *version, cg_err *err);

/* A dataset creation property list for a rank-1 or rank-2 dataset of dims (rows first) whose rows take
 * row_bytes: contiguous for codec none (or 0 rows unless extendible), chunked with the codec's filter
 * otherwise, chunks of about 1 MiB. *chunk_rows receives rows per chunk (0 when contiguous); the caller
 * closes the list. Returns a negative hid on failure. */
hid_t cg__h5w_dcpl(const cg_h5ad_writer *w, int rank, const hsize_t *dims, size_t row_bytes, int extendible,
                   hsize_t *chunk_rows);

/* Creates a dataset at path (relative to the root) with the given types, writes data (may be NULL when
 * nothing is to be written yet) and tags it with encoding `enc` ("array", "string-array", ...; NULL for none).
 * Returns the open dataset through *out when out != NULL, else closes it. 0 or negative. */
int cg__h5w_dataset(cg_h5ad_writer *w, const char *path, hid_t ftype, hid_t mtype, int rank,
                    const hsize_t *dims, const void *data, const char *enc, hid_t *out, cg_err *err);

/* h5py's bool type: an enum over int8 with FALSE = 0 and TRUE = 1. Caller closes it. */
hid_t cg__h5w_bool_type(void);

/* Registers the LZF filter (compress and decompress through liblzf) once per process; 0 or negative. */
int cg__h5w_lzf_register(void);

/* Called by the writer when it is committed or aborted with a stream still open: stops the workers, closes
 * the stream's datasets and frees it. */
void cg__h5w_csr_drop(cg_h5ad_csr *c);

#endif
