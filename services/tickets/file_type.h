/* Which files a ticket may carry: the name's extension must be one of JPG, JPEG, PNG, GIF, PDF,
 * DOC, DOCX (any case) AND the content's signature must be that type's, so a renamed
 * executable never passes as an image. Pure functions: no I/O, no allocation. */
#ifndef TICKETS_FILE_TYPE_H
#define TICKETS_FILE_TYPE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define FILE_TYPE_NAME_MAX 255 /* bytes of a file name */

typedef enum file_type_kind {
  FILE_TYPE_JPEG, /* .jpg, .jpeg: FF D8 FF */
  FILE_TYPE_PNG,  /* .png: 89 50 4E 47 0D 0A 1A 0A */
  FILE_TYPE_GIF,  /* .gif: GIF87a / GIF89a */
  FILE_TYPE_PDF,  /* .pdf: %PDF- */
  FILE_TYPE_DOC,  /* .doc: OLE2 compound file D0 CF 11 E0 A1 B1 1A E1 */
  FILE_TYPE_DOCX  /* .docx: a ZIP archive (50 4B 03 04) with a word/ part */
} file_type_kind;

/* Checks name[0..name_len) (see file_type_check_name) and content[0..len) (at least one byte,
 * whose signature must match the extension's type). On success *kind (may be NULL) and
 * *content_type ("image/png", static storage) are set. INVALID_ARGUMENT with a message saying
 * what is wrong otherwise. Size limits per ticket are the caller's. */
int file_type_check(const char *name, size_t name_len, const unsigned char *content, size_t len,
                    file_type_kind *kind, const char **content_type, hd_err *err);

/* The name alone: 1..255 bytes of valid UTF-8; no '/' or '\' (a path), no control characters
 * (C0, DEL, C1) and no bidirectional overrides (which can show "x<RLO>gnp.exe" as "xexe.png");
 * an allowed extension after the last '.', something before it, and no executable extension
 * hidden before it ("invoice.exe.pdf"). *kind set on success; INVALID_ARGUMENT otherwise. */
int file_type_check_name(const char *name, size_t name_len, file_type_kind *kind, hd_err *err);

/* Whether content[0..len) carries kind's signature (for DOCX: a ZIP archive with an entry whose
 * name starts with "word/", found in the central directory or, failing that, the local headers). */
bool file_type_content_matches(file_type_kind kind, const unsigned char *content, size_t len);

/* What content looks like, for messages: "a PNG image", "a Windows executable", "a ZIP archive",
 * "an unknown format", ... Static storage. */
const char *file_type_describe(const unsigned char *content, size_t len);

/* "image/jpeg" ... for kind. Static storage. */
const char *file_type_content_type(file_type_kind kind);

#endif
