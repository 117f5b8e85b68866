/* PCRE2 for the compiled core when its headers were found at build time (ESALOG_HAVE_PCRE2), else stubs:
   every rule then matches with Python re. */
#ifndef ESALOG_PCRE2_SHIM
#define ESALOG_PCRE2_SHIM
#ifdef ESALOG_HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#define ESALOG_PCRE2 1
#else
#include <stddef.h>
#include <stdint.h>
#define ESALOG_PCRE2 0
typedef struct esalog_no_pcre2 pcre2_code;
typedef struct esalog_no_pcre2 pcre2_match_data;
typedef unsigned char PCRE2_UCHAR;
typedef const unsigned char *PCRE2_SPTR;
typedef size_t PCRE2_SIZE;
#define PCRE2_ANCHORED 0u
#define PCRE2_JIT_COMPLETE 0u
#define PCRE2_ERROR_NOMATCH (-1)
#define PCRE2_UNSET (~(PCRE2_SIZE)0)
static pcre2_code *pcre2_compile(PCRE2_SPTR p, PCRE2_SIZE n, uint32_t o, int *e, PCRE2_SIZE *off, void *c)
{ (void)p; (void)n; (void)o; (void)c; *e = 0; *off = 0; return NULL; }
static int pcre2_jit_compile(pcre2_code *c, uint32_t o) { (void)c; (void)o; return -1; }
static void pcre2_code_free(pcre2_code *c) { (void)c; }
static pcre2_match_data *pcre2_match_data_create(uint32_t n, void *c) { (void)n; (void)c; return NULL; }
static void pcre2_match_data_free(pcre2_match_data *m) { (void)m; }
static PCRE2_SIZE *pcre2_get_ovector_pointer(pcre2_match_data *m) { (void)m; return NULL; }
static int pcre2_jit_match(const pcre2_code *c, PCRE2_SPTR s, PCRE2_SIZE n, PCRE2_SIZE st, uint32_t o,
                           pcre2_match_data *m, void *x)
{ (void)c; (void)s; (void)n; (void)st; (void)o; (void)m; (void)x; return -1; }
#endif
#endif
