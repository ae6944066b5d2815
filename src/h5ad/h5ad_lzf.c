/* h5ad_lzf.c — HDF5 filter 32000 (LZF) over liblzf.
 *
 * Why: Debian 12's hdf5-plugin-lzf is not linked against liblzf, so when HDF5 dlopens it the LZF datasets
 * fail to read ("undefined symbol: lzf_decompress"). Registering our own filter class for id 32000 before
 * any LZF dataset is read means HDF5 never looks for the plugin.
 *
 * Conventions of the filter as h5py defines it (h5py/lzf/lzf_filter.c; facts, not code, taken from it):
 *  1. cd_values[0] = filter revision (4), cd_values[1] = liblzf API version (LZF_VERSION, 0x0105),
 *     cd_values[2] = uncompressed chunk size in bytes, filled by the set_local callback from the chunk
 *     dims times the type size. Older files may have fewer values or 0 there.
 *  2. Decompression allocates cd_values[2] bytes when it is set, else the input size, and grows the buffer
 *     (h5py: += input size, up to 100 MiB) while lzf_decompress fails with errno E2BIG; EINVAL means corrupt
 *     data. The return value is the number of decompressed bytes; 0 reports failure to HDF5.
 *  3. Compression writes into a buffer as large as the input; if LZF cannot make the data smaller,
 *     lzf_compress returns 0 and, the filter being optional, HDF5 stores that chunk unfiltered.
 *  4. Buffers handed to or taken from HDF5 (*buf) belong to HDF5's allocator, so they are allocated and freed
 *     with H5allocate_memory/H5free_memory — the one place in cellgate that does not use base/mem.h, because
 *     HDF5 frees what we return.
 * Our growth is doubling, capped at 1 GiB, and the first guess is capped at 256 MiB, so a corrupt
 * cd_values[2] cannot make us allocate more than that. Registration runs once per process (pthread_once).
 */
#include <errno.h>
#include <pthread.h>

#include <liblzf/lzf.h>

#include "h5ad/h5ad_internal.h"

#define LZF_FILTER_ID 32000
#define LZF_FILTER_REVISION 4
#define LZF_GUESS_MAX ((size_t)256 << 20)
#define LZF_BUF_MAX ((size_t)1 << 30)

static size_t decompress(const unsigned cd[], size_t ncd, size_t nbytes, size_t *buf_size, void **buf) {
  size_t want = ncd >= 3 && cd[2] != 0 ? cd[2] : *buf_size;
  if (want > LZF_GUESS_MAX) want = LZF_GUESS_MAX;
  if (want < 64) want = 64;
  for (;;) {
    void *out = H5allocate_memory(want, 0);
    if (!out) return 0;
    unsigned got = lzf_decompress(*buf, (unsigned)nbytes, out, (unsigned)want);
    if (got) {
      H5free_memory(*buf);
      *buf = out;
      *buf_size = want;
      return got;
    }
    H5free_memory(out);
    if (errno != E2BIG || want >= LZF_BUF_MAX) return 0; /* EINVAL: corrupt data */
    want = want * 2 > LZF_BUF_MAX ? LZF_BUF_MAX : want * 2;
  }
}

static size_t compress(size_t nbytes, size_t *buf_size, void **buf) {
  void *out = H5allocate_memory(nbytes, 0);
  if (!out) return 0;
  unsigned got = lzf_compress(*buf, (unsigned)nbytes, out, (unsigned)nbytes);
  if (!got) {
    H5free_memory(out);
    return 0; /* incompressible: HDF5 stores the chunk unfiltered (optional filter) */
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = nbytes;
  return got;
}

static size_t on_lzf(unsigned flags, size_t ncd, const unsigned cd[], size_t nbytes, size_t *buf_size,
                     void **buf) {
  if (nbytes == 0 || nbytes > 0xFFFFFFFFu) return 0;
  if (flags & H5Z_FLAG_REVERSE) return decompress(cd, ncd, nbytes, buf_size, buf);
  return compress(nbytes, buf_size, buf);
}

/* set_local: cd_values = {revision, LZF_VERSION, chunk bytes}, keeping any extra values (note 1). */
static herr_t on_set_local(hid_t dcpl, hid_t type, hid_t space) {
  unsigned flags = 0, cd[8] = {0};
  size_t ncd = 8;
  hsize_t dims[32];
  if (H5Pget_filter_by_id2(dcpl, LZF_FILTER_ID, &flags, &ncd, cd, 0, NULL, NULL) < 0) return -1;
  if (ncd < 3) ncd = 3;
  if (cd[0] == 0) cd[0] = LZF_FILTER_REVISION;
  if (cd[1] == 0) cd[1] = LZF_VERSION;
  int rank = H5Pget_chunk(dcpl, 32, dims);
  size_t bytes = H5Tget_size(type);
  if (rank < 0 || rank > 32 || bytes == 0) return -1;
  for (int i = 0; i < rank; i++) bytes *= dims[i];
  cd[2] = bytes > 0xFFFFFFFFu ? 0 : (unsigned)bytes;
  return H5Pmodify_filter(dcpl, LZF_FILTER_ID, flags, ncd, cd);
}

static const H5Z_class2_t LZF_CLASS = {
    H5Z_CLASS_T_VERS, (H5Z_filter_t)LZF_FILTER_ID, 1, 1, "lzf", NULL, on_set_local, on_lzf,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered_rc;

static void do_register(void) { registered_rc = H5Zregister(&LZF_CLASS) < 0 ? -1 : 0; }

int cg__lzf_register(cg_err *err) {
  pthread_once(&once, do_register);
  if (registered_rc < 0) return cg__h5_fail(err, CG_EIO, "hdf5", "cannot register the LZF filter (32000)");
  return 0;
}
