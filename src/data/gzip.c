/* Gzip files, for the IDX reader (idx.c): data_read_maybe_gz.

   Gzip is handled here rather than through zlib: the member header (RFC 1952) is parsed by
   hand, stb_image inflates the raw deflate payload, and the CRC32 and length in the trailer
   are checked so that a damaged download is reported instead of silently trained on.
   Only single-member gzip files are supported (what gzip and the dataset mirrors produce). */
#include "data_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "util.h"

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum in the gzip trailer.
   The table is rebuilt per call (2K operations) to keep the module free of global state. */
static uint32_t crc32_bytes(const uint8_t *p, size_t n) {
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

enum { GZ_FHCRC = 2, GZ_FEXTRA = 4, GZ_FNAME = 8, GZ_FCOMMENT = 16, GZ_RESERVED = 0xE0 };

/* Skip a zero-terminated header field starting at *pos; 0 if it runs past the end. */
static int skip_cstring(const uint8_t *in, size_t len, size_t *pos) {
    const uint8_t *nul = *pos < len ? memchr(in + *pos, 0, len - *pos) : NULL;
    if (!nul) return 0;
    *pos = (size_t)(nul - in) + 1;
    return 1;
}

/* Parse the gzip member header; on success *start is the offset of the deflate data. */
static int gzip_header(const uint8_t *in, size_t len, size_t *start, const char *path,
                       char *err, size_t errlen) {
    if (len < 18) return data_fail(err, errlen, "%s: truncated gzip file (%zu bytes)", path, len);
    if (in[2] != 8) return data_fail(err, errlen, "%s: unsupported gzip method %d (want 8, deflate)", path, in[2]);
    int flags = in[3];
    if (flags & GZ_RESERVED)
        return data_fail(err, errlen, "%s: corrupt gzip header (reserved flags 0x%02x)", path, flags);
    size_t pos = 10;
    if (flags & GZ_FEXTRA) pos = pos + 2 <= len ? pos + 2 + le16(in + pos) : len + 1;
    if ((flags & GZ_FNAME) && !skip_cstring(in, len, &pos)) pos = len + 1;
    if ((flags & GZ_FCOMMENT) && !skip_cstring(in, len, &pos)) pos = len + 1;
    if ((flags & GZ_FHCRC) && pos + 2 <= len) {
        if ((crc32_bytes(in, pos) & 0xFFFF) != le16(in + pos))
            return data_fail(err, errlen, "%s: corrupt gzip header (header CRC mismatch)", path);
        pos += 2;
    }
    if (pos + 8 > len) return data_fail(err, errlen, "%s: truncated gzip file (header runs past the end)", path);
    *start = pos;
    return 0;
}

/* Inflate a single-member gzip file; returns a malloc'd buffer or NULL with err set. */
static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *outlen, const char *path,
                       char *err, size_t errlen) {
    size_t start = 0;
    if (gzip_header(in, len, &start, path, err, errlen)) return NULL;
    /* The 8-byte trailer is handed to the decoder too, as lookahead: stb_image 2.27 reports
       "bad huffman code" when its input runs out while the last codes are still buffered
       (in PNG the Adler-32 trailer hides this). Inflate stops at the final block anyway. */
    size_t avail = len - start;
    if (avail > INT_MAX) {
        data_fail(err, errlen, "%s: gzip file too large (%zu bytes)", path, len);
        return NULL;
    }
    int n = 0;
    uint8_t *out = (uint8_t *)stbi_zlib_decode_noheader_malloc((const char *)in + start, (int)avail, &n);
    if (!out) {
        data_fail(err, errlen, "%s: corrupt gzip data (inflate failed: %s)", path, stbi_failure_reason());
        return NULL;
    }
    uint32_t want_crc = le32(in + len - 8), want_size = le32(in + len - 4);
    uint32_t crc = crc32_bytes(out, (size_t)n);
    if ((uint32_t)n != want_size || crc != want_crc) {
        data_fail(err, errlen, "%s: corrupt gzip data (inflated %d bytes with CRC32 0x%08x, trailer says "
                  "%u bytes with CRC32 0x%08x)", path, n, crc, want_size, want_crc);
        free(out);
        return NULL;
    }
    *outlen = (size_t)n;
    return out;
}


uint8_t *data_read_maybe_gz(const char *path, size_t *len, int *was_gz, char *err, size_t errlen) {
    uint8_t *raw = read_whole_file(path, len, err, errlen);
    *was_gz = raw && *len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
    if (!*was_gz) return raw;
    uint8_t *out = gunzip(raw, *len, len, path, err, errlen);
    free(raw);
    return out;
}
