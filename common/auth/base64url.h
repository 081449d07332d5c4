/* base64url without padding (RFC 4648 §5), as JWT uses it. Internal to common/auth. */
#ifndef HD_AUTH_BASE64URL_H
#define HD_AUTH_BASE64URL_H

#include <stddef.h>

/* Characters of the unpadded encoding of n bytes (without a terminating NUL). */
size_t hd_b64url_encoded_len(size_t n);

/* Most bytes that n characters of text can decode to. */
size_t hd_b64url_decoded_max(size_t n);

/* Encodes in[0..n) into out as NUL-terminated text; *out_len (may be NULL) gets its length.
 * -1 when out_size < hd_b64url_encoded_len(n) + 1 (out is left untouched then). */
int hd_b64url_encode(const unsigned char *in, size_t n, char *out, size_t out_size,
                     size_t *out_len);

/* Decodes in[0..n) into out; *out_len gets the byte count. Strict: -1 on any character
 * outside [A-Za-z0-9_-] (padding '=' included), a length that leaves one lone character
 * (n % 4 == 1), unused trailing bits that are not zero (so every byte string has exactly
 * one accepted text), or out_size < hd_b64url_decoded_max(n). */
int hd_b64url_decode(const char *in, size_t n, unsigned char *out, size_t out_size,
                     size_t *out_len);

#endif
