/* mem.h — the one allocator wrapper. Every heap allocation in cellgate goes through these so that tests can
 * inject allocation failures (cg_mem_fail_after). Semantics match malloc/calloc/realloc/free/strdup;
 * cg_free(NULL) is a no-op. Failure injection is process-global and meant for single-threaded tests.
 */
#ifndef CG_BASE_MEM_H
#define CG_BASE_MEM_H

#include <stddef.h>

void *cg_malloc(size_t n);
void *cg_calloc(size_t count, size_t size);
void *cg_realloc(void *p, size_t n);
void cg_free(void *p);
char *cg_strdup(const char *s);
char *cg_strndup(const char *s, size_t n);

/* Checked count*size for array allocations: returns NULL on overflow or failure. */
void *cg_malloc_array(size_t count, size_t size);

/* Test hook: the n-th allocation from now (0 = the next one) and every later one fails until reset with -1. */
void cg_mem_fail_after(long n);

#endif
