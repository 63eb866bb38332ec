/* SHA-256 (FIPS 180-4): hashes of reports, id lists and files, for goldens that must not hold
 * the text itself (DESIGN §7) and for cache keys.
 *
 *   char hex[65];
 *   xrem_sha256_hex("abc", 3, hex);        // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 *
 *   xrem_sha256 c;                         // incremental: any number of updates, then one final
 *   xrem_sha256_init(&c);
 *   xrem_sha256_update(&c, part1, n1);
 *   xrem_sha256_update(&c, part2, n2);
 *   xrem_sha256_final_hex(&c, hex);
 *
 * No allocation, no failure; a context is plain data (copy it to hash a common prefix once).
 */
#ifndef XREM_CORE_SHA256_H
#define XREM_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];    /* chaining state */
    uint8_t buf[64];  /* pending partial block */
    uint64_t bytes;   /* message length so far */
    size_t nbuf;      /* bytes in buf */
} xrem_sha256;

void xrem_sha256_init(xrem_sha256 *c);
void xrem_sha256_update(xrem_sha256 *c, const void *data, size_t n);
/* 32-byte digest; c is finished afterwards (init it again to reuse). */
void xrem_sha256_final(xrem_sha256 *c, uint8_t out[32]);
/* Lower-case hex digest, NUL-terminated. */
void xrem_sha256_final_hex(xrem_sha256 *c, char out[65]);
/* One-shot hex digest of n bytes. */
void xrem_sha256_hex(const void *data, size_t n, char out[65]);

#endif
