#include "base/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long fail_countdown = -1;

static int should_fail(void) {
  if (fail_countdown < 0) return 0;
  if (fail_countdown == 0) return 1;
  fail_countdown--;
  return 0;
}

void cg_mem_fail_after(long n) { fail_countdown = n; }

void *cg_malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }

void *cg_calloc(size_t count, size_t size) {
  return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *cg_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }

void cg_free(void *p) { free(p); }

void *cg_malloc_array(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  return cg_malloc(count * size);
}

char *cg_strndup(const char *s, size_t n) {
  char *d = cg_malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *cg_strdup(const char *s) { return cg_strndup(s, strlen(s)); }
