/* Attachment name and content checks (see file_type.h). */
#include "file_type.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

#define ALLOWED_LIST          "jpg, jpeg, png, gif, pdf, doc, docx"
#define ZIP_EOCD_MIN          22u   /* end of central directory record without its comment */
#define ZIP_CD_ENTRY_MIN      46u   /* central directory file header without its variable parts */
#define ZIP_LOCAL_MIN         30u   /* local file header without its variable parts */
#define ZIP_MAX_ENTRIES       4096u /* entries looked at before giving up */
#define ZIP_MAX_LOCAL_HEADERS 64u   /* local headers walked when there is no central directory */

typedef struct ft__ext {
  const char *ext;
  file_type_kind kind;
} ft__ext;

static const ft__ext EXTENSIONS[] = {
    {"jpg", FILE_TYPE_JPEG},  {"jpeg", FILE_TYPE_JPEG}, {"png", FILE_TYPE_PNG},
    {"gif", FILE_TYPE_GIF},   {"pdf", FILE_TYPE_PDF},   {"doc", FILE_TYPE_DOC},
    {"docx", FILE_TYPE_DOCX},
};

/* Extensions that run something when opened; one of them before the last '.' is a disguise. */
static const char *const EXECUTABLE_EXTENSIONS[] = {
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "dll", "cpl", "js",  "jse",
    "vbs", "vbe", "wsf", "wsh", "ps1", "hta", "jar", "sh",  "apk", "lnk", "reg",
};

static const unsigned char SIG_JPEG[] = {0xFF, 0xD8, 0xFF};
static const unsigned char SIG_PNG[] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
static const unsigned char SIG_OLE2[] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
static const unsigned char SIG_ZIP_LOCAL[] = {0x50, 0x4B, 0x03, 0x04};
static const unsigned char SIG_ZIP_CENTRAL[] = {0x50, 0x4B, 0x01, 0x02};
static const unsigned char SIG_ZIP_EOCD[] = {0x50, 0x4B, 0x05, 0x06};

static bool ft__starts(const unsigned char *p, size_t len, const void *sig, size_t n) {
  return len >= n && memcmp(p, sig, n) == 0;
}

static uint32_t ft__le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t ft__le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool ft__is_word_part(const unsigned char *name, size_t n) {
  return n > 5 && memcmp(name, "word/", 5) == 0;
}

/* Looks for a word/ entry in the central directory; *found_cd tells whether one was read. */
static bool ft__zip_central_has_word(const unsigned char *p, size_t len, bool *found_cd) {
  *found_cd = false;
  if (len < ZIP_EOCD_MIN) return false;
  /* The EOCD record sits at the end, followed by a comment of at most 65535 bytes. */
  size_t lowest = len - ZIP_EOCD_MIN > 65535u ? len - ZIP_EOCD_MIN - 65535u : 0;
  for (size_t i = len - ZIP_EOCD_MIN + 1; i-- > lowest;) {
    if (memcmp(p + i, SIG_ZIP_EOCD, sizeof SIG_ZIP_EOCD) != 0) continue;
    if (i + ZIP_EOCD_MIN + ft__le16(p + i + 20) != len) continue; /* comment must end the file */
    const uint32_t entries = ft__le16(p + i + 10);
    const uint32_t cd_size = ft__le32(p + i + 12);
    const uint32_t cd_offset = ft__le32(p + i + 16);
    if ((uint64_t)cd_offset + cd_size > i) return false; /* ZIP64 or damaged */
    *found_cd = true;
    size_t at = cd_offset;
    const size_t end = (size_t)cd_offset + cd_size;
    for (uint32_t e = 0; e < entries && e < ZIP_MAX_ENTRIES; e++) {
      if (end - at < ZIP_CD_ENTRY_MIN || memcmp(p + at, SIG_ZIP_CENTRAL, 4) != 0) return false;
      const size_t name_len = ft__le16(p + at + 28);
      const size_t rest = name_len + ft__le16(p + at + 30) + ft__le16(p + at + 32);
      if (end - at - ZIP_CD_ENTRY_MIN < rest) return false;
      if (ft__is_word_part(p + at + ZIP_CD_ENTRY_MIN, name_len)) return true;
      at += ZIP_CD_ENTRY_MIN + rest;
    }
    return false;
  }
  return false;
}

/* Walks the first local file headers (until one whose size is only known after its data). */
static bool ft__zip_local_has_word(const unsigned char *p, size_t len) {
  size_t at = 0;
  for (unsigned n = 0; n < ZIP_MAX_LOCAL_HEADERS; n++) {
    if (len - at < ZIP_LOCAL_MIN || memcmp(p + at, SIG_ZIP_LOCAL, 4) != 0) return false;
    const uint32_t flags = ft__le16(p + at + 6);
    const uint64_t data_len = ft__le32(p + at + 18);
    const size_t name_len = ft__le16(p + at + 26);
    const size_t extra_len = ft__le16(p + at + 28);
    if (len - at - ZIP_LOCAL_MIN < name_len) return false;
    if (ft__is_word_part(p + at + ZIP_LOCAL_MIN, name_len)) return true;
    if (flags & 0x08u) return false; /* sizes follow the data: cannot skip it */
    const uint64_t next = (uint64_t)at + ZIP_LOCAL_MIN + name_len + extra_len + data_len;
    if (next >= len) return false;
    at = (size_t)next;
  }
  return false;
}

static bool ft__is_docx(const unsigned char *p, size_t len) {
  if (!ft__starts(p, len, SIG_ZIP_LOCAL, sizeof SIG_ZIP_LOCAL)) return false;
  bool found_cd = false;
  if (ft__zip_central_has_word(p, len, &found_cd)) return true;
  return !found_cd && ft__zip_local_has_word(p, len);
}

bool file_type_content_matches(file_type_kind kind, const unsigned char *p, size_t len) {
  if (!p) return false;
  switch (kind) {
    case FILE_TYPE_JPEG:
      return ft__starts(p, len, SIG_JPEG, sizeof SIG_JPEG);
    case FILE_TYPE_PNG:
      return ft__starts(p, len, SIG_PNG, sizeof SIG_PNG);
    case FILE_TYPE_GIF:
      return ft__starts(p, len, "GIF87a", 6) || ft__starts(p, len, "GIF89a", 6);
    case FILE_TYPE_PDF:
      return ft__starts(p, len, "%PDF-", 5);
    case FILE_TYPE_DOC:
      return ft__starts(p, len, SIG_OLE2, sizeof SIG_OLE2);
    case FILE_TYPE_DOCX:
      return ft__is_docx(p, len);
  }
  return false;
}

const char *file_type_describe(const unsigned char *p, size_t len) {
  if (!p || len == 0) return "empty";
  if (ft__starts(p, len, SIG_JPEG, sizeof SIG_JPEG)) return "a JPEG image";
  if (ft__starts(p, len, SIG_PNG, sizeof SIG_PNG)) return "a PNG image";
  if (ft__starts(p, len, "GIF87a", 6) || ft__starts(p, len, "GIF89a", 6)) return "a GIF image";
  if (ft__starts(p, len, "%PDF-", 5)) return "a PDF document";
  if (ft__starts(p, len, SIG_OLE2, sizeof SIG_OLE2)) return "an OLE2 (.doc) document";
  if (ft__is_docx(p, len)) return "a Word (.docx) document";
  if (ft__starts(p, len, SIG_ZIP_LOCAL, sizeof SIG_ZIP_LOCAL))
    return "a ZIP archive without a word/ part";
  if (ft__starts(p, len, "MZ", 2)) return "a Windows executable";
  if (ft__starts(p, len, "\x7f\x45\x4c\x46", 4)) return "an ELF executable"; /* \x7f E L F */
  if (ft__starts(p, len, "#!", 2)) return "a script";
  return "an unknown format";
}

const char *file_type_content_type(file_type_kind kind) {
  switch (kind) {
    case FILE_TYPE_JPEG:
      return "image/jpeg";
    case FILE_TYPE_PNG:
      return "image/png";
    case FILE_TYPE_GIF:
      return "image/gif";
    case FILE_TYPE_PDF:
      return "application/pdf";
    case FILE_TYPE_DOC:
      return "application/msword";
    case FILE_TYPE_DOCX:
      return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  }
  return "application/octet-stream";
}

/* A control character (C0, DEL, C1) or a bidirectional embedding/override/isolate, in UTF-8. */
static bool ft__has_forbidden_char(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] < 0x20 || s[i] == 0x7F) return true;
    if (s[i] == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) return true; /* C1 */
    if (s[i] == 0xE2 && i + 2 < n) {
      const unsigned b1 = s[i + 1], b2 = s[i + 2];
      if (b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) return true;   /* U+202A..U+202E */
      if (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) return true;   /* U+2066..U+2069 */
      if (b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F)) return true; /* U+200E, U+200F marks */
    }
  }
  return false;
}

static bool ft__ext_is(const char *seg, size_t n, const char *ext) {
  return strlen(ext) == n && strncasecmp(seg, ext, n) == 0;
}

int file_type_check_name(const char *name, size_t n, file_type_kind *kind, hd_err *err) {
  if (!name || n == 0) return hd_err_set(err, HD_INVALID_ARGUMENT, "attachment file name is empty");
  if (n > FILE_TYPE_NAME_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "attachment file name is %zu bytes; at most %d", n,
                      FILE_TYPE_NAME_MAX);
  if (!hd_utf8_valid(name, n, NULL))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "attachment file name is not valid UTF-8");
  if (memchr(name, '/', n) || memchr(name, '\\', n))
    return hd_err_set(
        err, HD_INVALID_ARGUMENT,
        "attachment file name must not contain '/' or '\\' (give the name, not a path)");
  if (ft__has_forbidden_char((const unsigned char *)name, n))
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "attachment file name contains control or text-direction characters");
  const char *dot = memrchr(name, '.', n);
  if (!dot || dot == name + n - 1)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "attachment file name has no extension; allowed: %s", ALLOWED_LIST);
  if (dot == name)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "attachment file name has nothing before its extension");
  const char *ext = dot + 1;
  const size_t ext_len = (size_t)(name + n - ext);
  const ft__ext *found = NULL;
  for (size_t i = 0; i < sizeof EXTENSIONS / sizeof EXTENSIONS[0]; i++)
    if (ft__ext_is(ext, ext_len, EXTENSIONS[i].ext)) found = &EXTENSIONS[i];
  if (!found) {
    if (ext_len <= 16)
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "attachment type .%.*s is not allowed; allowed: %s", (int)ext_len, ext,
                        ALLOWED_LIST);
    return hd_err_set(err, HD_INVALID_ARGUMENT, "attachment type is not allowed; allowed: %s",
                      ALLOWED_LIST);
  }
  /* Every inner segment ("x.exe.pdf" → "exe") must not be an executable's extension. */
  const char *seg = memchr(name, '.', n);
  while (seg && seg < dot) {
    const char *next = memchr(seg + 1, '.', (size_t)(dot - seg));
    const size_t seg_len = (size_t)((next ? next : dot) - (seg + 1));
    for (size_t i = 0; i < sizeof EXECUTABLE_EXTENSIONS / sizeof EXECUTABLE_EXTENSIONS[0]; i++)
      if (ft__ext_is(seg + 1, seg_len, EXECUTABLE_EXTENSIONS[i]))
        return hd_err_set(err, HD_INVALID_ARGUMENT,
                          "attachment file name hides a .%s extension before .%.*s",
                          EXECUTABLE_EXTENSIONS[i], (int)ext_len, ext);
    seg = next;
  }
  *kind = found->kind;
  return 0;
}

int file_type_check(const char *name, size_t name_len, const unsigned char *content, size_t len,
                    file_type_kind *kind, const char **content_type, hd_err *err) {
  file_type_kind k;
  if (file_type_check_name(name, name_len, &k, err) != 0) return -1;
  if (!content || len == 0) return hd_err_set(err, HD_INVALID_ARGUMENT, "attachment is empty");
  if (!file_type_content_matches(k, content, len)) {
    const char *ext = memrchr(name, '.', name_len) + 1;
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "attachment content does not match its .%.*s extension: it is %s",
                      (int)(name + name_len - ext), ext, file_type_describe(content, len));
  }
  if (kind) *kind = k;
  *content_type = file_type_content_type(k);
  return 0;
}
