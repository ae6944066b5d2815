/* bundle_fmt.h — internal to src/bundle/: the on-disk layout constants shared by the writer and the reader.
 * docs/FORMAT.md is the normative description; this header must agree with it.
 *
 *   0        128              128+64*S (aligned 64)
 *   +--------+----------------+------+-----------+- - -+---------------+-----------+-----------+
 *   | header | TOC: S entries | META | obs index | ... | CSR/CSC ptrs  | CSR idx/v | CSC idx/v |
 *   +--------+----------------+------+-----------+- - -+---------------+-----------+-----------+
 *   Every section starts at the first 64-byte boundary after the previous one; padding is zero; the file ends
 *   at the 64-byte boundary after the last section. Sections appear in TOC order.
 *
 * All integers are little-endian. Reader and writer read/write header, TOC and META through the ld/st
 * helpers below (no struct punning), so alignment of those never matters.
 */
#ifndef CG_BUNDLE_BUNDLE_FMT_H
#define CG_BUNDLE_BUNDLE_FMT_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "cellgate bundles are little-endian and are accessed in place: big-endian hosts are not supported"
#endif

#define CG_BFMT_MAGIC "\x89" "CGB\r\n\x1a\n"
#define CG_BFMT_HEADER_SIZE 128u
#define CG_BFMT_TOC_ENTRY 64u
#define CG_BFMT_ALIGN 64u
#define CG_BFMT_NONE 0xFFFFFFFFu
#define CG_BFMT_MAX_SECTIONS 1000000u

/* header field offsets */
enum {
  CG_BH_MAGIC = 0, CG_BH_VERSION = 8, CG_BH_HSIZE = 12, CG_BH_FSIZE = 16, CG_BH_NOBS = 24, CG_BH_NVARS = 32,
  CG_BH_NNZ = 40, CG_BH_NSEC = 48, CG_BH_FLAGS = 52, CG_BH_TOCOFF = 56, CG_BH_ID = 64, CG_BH_RESERVED = 80,
  CG_BH_CHECKSUM = 120,
};
#define CG_BFLAG_MATRIX 1u

/* TOC entry field offsets */
enum { CG_BT_KIND = 0, CG_BT_RES0 = 4, CG_BT_OFF = 8, CG_BT_LEN = 16, CG_BT_COUNT = 24, CG_BT_SUM = 32,
       CG_BT_AUX = 40, CG_BT_RES1 = 48 };

/* section kinds */
enum {
  CG_BSEC_META = 1,
  CG_BSEC_CSR_INDPTR = 2, CG_BSEC_CSR_INDICES = 3, CG_BSEC_CSR_DATA = 4,
  CG_BSEC_CSC_INDPTR = 5, CG_BSEC_CSC_INDICES = 6, CG_BSEC_CSC_DATA = 7,
  CG_BSEC_GENE_STATS = 8,
  CG_BSEC_STRINGS = 9, CG_BSEC_I32 = 10, CG_BSEC_F32 = 11, CG_BSEC_U8 = 12,
  CG_BSEC_KIND_MAX = 12,
};

/* META layout: a 64-byte head, column records, embedding records, colour records, colour refs, string pool */
#define CG_BM_HEAD 64u
#define CG_BM_COL 32u
#define CG_BM_EMB 16u
#define CG_BM_CLR 16u
enum {
  CG_BM_NOBSCOL = 0, CG_BM_NVARCOL = 4, CG_BM_NEMB = 8, CG_BM_NCLR = 12, CG_BM_NCLRREF = 16, CG_BM_POOL = 20,
  CG_BM_TITLE = 24, CG_BM_DEFEMB = 28, CG_BM_MATNAME = 32, CG_BM_MATDTYPE = 36, CG_BM_OBSIDXNAME = 40,
  CG_BM_VARIDXNAME = 44, CG_BM_OBSIDXSEC = 48, CG_BM_VARIDXSEC = 52, CG_BM_RES = 56,
};
/* column record: name, dtype, cat_dtype (pool refs), type:u8, ordered:u8, 2 zero bytes, values/dict/valid
 * section indices, 4 zero bytes */
enum { CG_BC_NAME = 0, CG_BC_DTYPE = 4, CG_BC_CATDTYPE = 8, CG_BC_TYPE = 12, CG_BC_ORDERED = 13, CG_BC_VALUES = 16,
       CG_BC_DICT = 20, CG_BC_VALID = 24, CG_BC_RES = 28 };
/* embedding record: name ref, dims, section, 0 — colour record: column ref, n, first colour ref, 0 */

/* gene stats: u64 nnz[n] | f64 sum[n] | f64 sumsq[n] | f32 min[n] | f32 max[n] */
#define CG_BGS_BYTES_PER_GENE 32u

static inline uint64_t cg__align64(uint64_t x) { return (x + 63u) & ~(uint64_t)63u; }

static inline uint32_t cg__ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t cg__ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void cg__st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void cg__st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* "meta", "csr.indptr", ... for a kind; "unknown" otherwise. (bundle_read.c) */
const char *cg__bundle_kind_name(uint32_t kind);

#endif
