/* pdu.h — the cellxgene "diffex PDU": the binary body of `POST diffexp/obs2` (reference/cellxgene-compat.md
 * §2), which carries a differential-expression request (mode, N) and its two cell sets as compressed posting
 * lists. The byte layout, the facts it rests on and their upstream sources are the design note at the top of
 * pdu.c.
 *
 * Decoding
 *    cg_pdu p; cg_pdu_decode(body, len, n_obs, &p, err);  ... use p.set[0], p.set[1] ...  cg_pdu_dispose(&p);
 *  - The body is read, never kept. The two sets come back as bitsets of n_obs bits (query/bitset.h), owned by
 *    *out and released by cg_pdu_dispose (also safe on a zeroed or failed cg_pdu: on failure *out is zeroed).
 *    cg_pdu_indices turns a set into the sorted uint32 index list the upstream APIs speak.
 *  - Every malformed body fails with CG_EFORMAT and a message naming the field or the block (index, set,
 *    key, type) and why; nothing is trusted before it is checked. Mode 1 (VarFilter, defined upstream but
 *    never implemented) gives CG_EUNSUPPORTED (upstream's decoder asserts TopN and answers 400, though its
 *    handler has a 501 branch for other modes). n_obs < 0 or > 2^32 gives CG_EINVAL. Memory: CG_ENOMEM.
 *  - Bounded work: a body longer than cg_pdu_body_bound(n_obs) is refused before anything is parsed, and
 *    every block is inflated into a buffer sized from its header (at most 4 + 2*65536 bytes); a stream that
 *    wants more is refused. So no body can be made to inflate much (no zip bombs): the whole decode is
 *    linear in len + n_obs.
 *  - Policy left to the caller: the upstream client and server both say the sets "must be disjoint" but
 *    neither checks (a user can pick overlapping cell sets), so overlap is counted (n_overlap), not refused.
 *    An empty set is representable (only the other set's blocks) though the upstream client never sends one.
 *
 * Encoding (our own client and the tests)
 *  cg_pdu_encode writes the same bytes an upstream client would (up to the deflate implementation: libdeflate
 *  instead of pako/zlib, which any inflater reads alike). Output is cg_malloc'd; the caller cg_frees it.
 *
 * Threads: no shared state; any thread may call any function (a cg_pdu belongs to whoever decoded it).
 */
#ifndef CG_WIRE_PDU_H
#define CG_WIRE_PDU_H

#include "base/err.h"
#include "query/bitset.h"

#include <stddef.h>
#include <stdint.h>

#define CG_PDU_MAGIC 0xDEu                          /* byte 0 of the PDU */
#define CG_PDU_PLIST_MAGIC 0xCEu                    /* byte 0 of the posting list (PDU byte 4) */
#define CG_PDU_BODY_MAX ((size_t)100 * 1024 * 1024) /* upstream's MAX_CONTENT_LENGTH for diffexp/obs2 */
#define CG_PDU_MAX_NOBS ((int64_t)1 << 32) /* cell indices are uint32 (16-bit key + 16-bit low part) */

typedef enum { CG_PDU_TOPN = 0, CG_PDU_VARFILTER = 1 } cg_pdu_mode;

/* Block encodings: the block_type byte on the wire. */
typedef enum { CG_PDU_BITARRAY = 0, CG_PDU_U16LIST = 1, CG_PDU_U16INVERTED = 2 } cg_pdu_block;

/* How the encoder chooses each block's encoding. */
typedef enum {
  CG_PDU_PICK_AUTO = 0,     /* the upstream client's heuristic (what a browser would send) */
  CG_PDU_PICK_SMALLEST = 1, /* compress all three, keep the smallest */
  CG_PDU_PICK_BITARRAY = 2, /* force one encoding (tests, fuzz seeds) */
  CG_PDU_PICK_U16LIST = 3,
  CG_PDU_PICK_U16INVERTED = 4
} cg_pdu_pick;

typedef struct cg_pdu {
  int mode;          /* CG_PDU_TOPN */
  unsigned top_n;    /* N: how many genes per direction the client asks for (uint16 on the wire) */
  int64_t n_obs;     /* as passed to cg_pdu_decode: the bitsets' size */
  cg_bitset set[2];  /* set1, set2 */
  int64_t count[2];  /* cells in each set */
  int64_t n_overlap; /* cells in both sets */
  int64_t blocks[3]; /* blocks seen of each cg_pdu_block type (statistics, tests) */
} cg_pdu;

/* Decodes body[0..len) for a dataset of n_obs cells into *out (see above). 0 or a negative code + err. */
int cg_pdu_decode(const void *body, size_t len, int64_t n_obs, cg_pdu *out, cg_err *err);

/* Releases the sets and zeroes *p. NULL or zeroed is a no-op. */
void cg_pdu_dispose(cg_pdu *p);

/* The members of s in increasing order: *idx (cg_malloc'd, never NULL on success; cg_free it) and *n.
 * s->n must be <= CG_PDU_MAX_NOBS. 0 or CG_ENOMEM. */
int cg_pdu_indices(const cg_bitset *s, uint32_t **idx, int64_t *n, cg_err *err);

/* The longest well-formed PDU for n_obs cells (every block 65536 bytes), capped at CG_PDU_BODY_MAX: an HTTP
 * handler may refuse a larger Content-Length (413) before reading the body. n_obs in [0, CG_PDU_MAX_NOBS]. */
size_t cg_pdu_body_bound(int64_t n_obs);

typedef struct cg_pdu_args {
  unsigned top_n;         /* N, <= 65535 (mode is always CG_PDU_TOPN: upstream defines no VarFilter params) */
  const uint32_t *set[2]; /* each strictly increasing; may overlap each other */
  int64_t n[2];           /* lengths; at least one > 0 (the block count is stored minus one) */
  int pick;               /* cg_pdu_pick */
  int level;              /* libdeflate level 1..12; 0 = upstream's 3; -1 = stored blocks (no compression) */
} cg_pdu_args;

/* Encodes a into *out / *len (cg_malloc'd). CG_EINVAL for bad arguments (unsorted set, both empty, N too
 * large, bad level/pick), CG_ERANGE when a forced block type does not fit 65536 compressed bytes, CG_ENOMEM.
 */
int cg_pdu_encode(const cg_pdu_args *a, uint8_t **out, size_t *len, cg_err *err);

#endif
