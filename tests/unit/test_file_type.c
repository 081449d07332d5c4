/* services/tickets/file_type: attachment names and content signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "file_type.h"

static const unsigned char PNG[] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D};
static const unsigned char JPEG[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F'};
static const unsigned char PDF[] = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
static const unsigned char DOC[] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0};
static const unsigned char EXE[] = {'M', 'Z', 0x90, 0x00, 0x03, 0x00, 0x00, 0x00};

/* ---- a small ZIP writer (stored entries) for DOCX content ---- */

typedef struct zip_buf {
  unsigned char data[4096];
  size_t len;
} zip_buf;

static void put16(zip_buf *z, unsigned v) {
  z->data[z->len++] = (unsigned char)(v & 0xFF);
  z->data[z->len++] = (unsigned char)(v >> 8);
}
static void put32(zip_buf *z, uint32_t v) {
  put16(z, v & 0xFFFF);
  put16(z, v >> 16);
}
static void put_bytes(zip_buf *z, const void *p, size_t n) {
  memcpy(z->data + z->len, p, n);
  z->len += n;
}

/* Writes entries names[0..n) with a few bytes each; with_central adds the central directory and
 * its end record; descriptor_flag marks the first entry's sizes as following its data. */
static void make_zip(zip_buf *z, const char *const *names, size_t n, bool with_central,
                     bool descriptor_flag) {
  static const char body[] = "<xml/>";
  uint32_t offsets[8];
  z->len = 0;
  for (size_t i = 0; i < n; i++) {
    offsets[i] = (uint32_t)z->len;
    put32(z, 0x04034b50);
    put16(z, 20);
    put16(z, descriptor_flag && i == 0 ? 0x08 : 0);
    put16(z, 0); /* stored */
    put16(z, 0);
    put16(z, 0);
    put32(z, 0); /* crc, not checked */
    put32(z, descriptor_flag && i == 0 ? 0 : sizeof body - 1);
    put32(z, descriptor_flag && i == 0 ? 0 : sizeof body - 1);
    put16(z, (unsigned)strlen(names[i]));
    put16(z, 0);
    put_bytes(z, names[i], strlen(names[i]));
    put_bytes(z, body, sizeof body - 1);
  }
  if (!with_central) return;
  const uint32_t cd_start = (uint32_t)z->len;
  for (size_t i = 0; i < n; i++) {
    put32(z, 0x02014b50);
    put16(z, 20);
    put16(z, 20);
    put16(z, 0);
    put16(z, 0);
    put16(z, 0);
    put16(z, 0);
    put32(z, 0);
    put32(z, sizeof body - 1);
    put32(z, sizeof body - 1);
    put16(z, (unsigned)strlen(names[i]));
    put16(z, 0);
    put16(z, 0);
    put16(z, 0);
    put16(z, 0);
    put32(z, 0);
    put32(z, offsets[i]);
    put_bytes(z, names[i], strlen(names[i]));
  }
  const uint32_t cd_size = (uint32_t)z->len - cd_start;
  put32(z, 0x06054b50);
  put16(z, 0);
  put16(z, 0);
  put16(z, (unsigned)n);
  put16(z, (unsigned)n);
  put32(z, cd_size);
  put32(z, cd_start);
  put16(z, 0);
}

static const char *const DOCX_NAMES[] = {"[Content_Types].xml", "_rels/.rels", "word/document.xml"};

/* ---- helpers ---- */

static void assert_accepted(const char *name, const unsigned char *content, size_t len,
                            const char *want_type) {
  hd_err err = {0};
  const char *type = NULL;
  if (file_type_check(name, strlen(name), content, len, NULL, &type, &err) != 0)
    fail_msg("%s refused: %s", name, err.msg);
  assert_string_equal(type, want_type);
}

static void assert_refused(const char *name, size_t name_len, const unsigned char *content,
                           size_t len, const char *msg_part) {
  hd_err err = {0};
  const char *type = NULL;
  assert_int_equal(file_type_check(name, name_len, content, len, NULL, &type, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  if (!strstr(err.msg, msg_part)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
  assert_null(type);
}

/* ---- accepted ---- */

static void test_each_allowed_type_with_its_signature_gets_its_content_type(void **state) {
  (void)state;
  assert_accepted("shot.png", PNG, sizeof PNG, "image/png");
  assert_accepted("shot.jpg", JPEG, sizeof JPEG, "image/jpeg");
  assert_accepted("shot.jpeg", JPEG, sizeof JPEG, "image/jpeg");
  assert_accepted("anim.gif", (const unsigned char *)"GIF89a\x01\x00", 8, "image/gif");
  assert_accepted("old.gif", (const unsigned char *)"GIF87a\x01\x00", 8, "image/gif");
  assert_accepted("invoice.pdf", PDF, sizeof PDF - 1, "application/pdf");
  assert_accepted("letter.doc", DOC, sizeof DOC, "application/msword");
  zip_buf z;
  make_zip(&z, DOCX_NAMES, 3, true, false);
  assert_accepted("letter.docx", z.data, z.len,
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
}

static void test_extensions_are_case_insensitive(void **state) {
  (void)state;
  assert_accepted("SHOT.PNG", PNG, sizeof PNG, "image/png");
  assert_accepted("Shot.JpEg", JPEG, sizeof JPEG, "image/jpeg");
  assert_accepted("A.PDF", PDF, sizeof PDF - 1, "application/pdf");
}

static void test_dots_and_unicode_in_the_name_are_fine(void **state) {
  (void)state;
  assert_accepted("photo.v2.final.png", PNG, sizeof PNG, "image/png");
  assert_accepted("صورة الخطأ.png", PNG, sizeof PNG, "image/png");
  assert_accepted("截图 2024-05-01.jpg", JPEG, sizeof JPEG, "image/jpeg");
}

static void test_kind_is_reported(void **state) {
  (void)state;
  hd_err err = {0};
  const char *type = NULL;
  file_type_kind kind = FILE_TYPE_PDF;
  assert_int_equal(file_type_check("x.png", 5, PNG, sizeof PNG, &kind, &type, &err), 0);
  assert_int_equal(kind, FILE_TYPE_PNG);
}

/* ---- content that does not match ---- */

static void test_renamed_exe_posing_as_png_is_refused(void **state) {
  (void)state;
  assert_refused("cute-cat.png", 12, EXE, sizeof EXE,
                 "does not match its .png extension: it is a Windows executable");
}

static void test_png_content_named_jpg_is_refused(void **state) {
  (void)state;
  assert_refused("photo.jpg", 9, PNG, sizeof PNG,
                 "does not match its .jpg extension: it is a PNG image");
}

static void test_pdf_named_doc_and_doc_named_docx_are_refused(void **state) {
  (void)state;
  assert_refused("a.doc", 5, PDF, sizeof PDF - 1, "it is a PDF document");
  assert_refused("a.docx", 6, DOC, sizeof DOC, "it is an OLE2 (.doc) document");
}

static void test_signature_one_byte_short_is_refused(void **state) {
  (void)state;
  assert_refused("a.png", 5, PNG, 7, "does not match");
  assert_refused("a.jpg", 5, JPEG, 2, "does not match");
  assert_refused("a.gif", 5, (const unsigned char *)"GIF89", 5, "does not match");
  assert_refused("a.gif", 5, (const unsigned char *)"GIF88a", 6, "does not match");
  assert_refused("a.pdf", 5, PDF, 4, "does not match");
  assert_refused("a.doc", 5, DOC, 7, "does not match");
  /* and exactly the signature is enough */
  assert_accepted("a.png", PNG, 8, "image/png");
  assert_accepted("a.jpg", JPEG, 3, "image/jpeg");
}

static void test_empty_content_is_refused(void **state) {
  (void)state;
  assert_refused("a.png", 5, PNG, 0, "attachment is empty");
  assert_refused("a.png", 5, NULL, 0, "attachment is empty");
}

static void test_zip_without_a_word_part_is_not_a_docx(void **state) {
  (void)state;
  static const char *const names[] = {"[Content_Types].xml", "xl/workbook.xml"};
  zip_buf z;
  make_zip(&z, names, 2, true, false);
  assert_refused("sheet.docx", 10, z.data, z.len, "it is a ZIP archive without a word/ part");
}

static void test_docx_is_recognised_from_local_headers_without_a_central_directory(void **state) {
  (void)state;
  zip_buf z;
  make_zip(&z, DOCX_NAMES, 3, false, false);
  assert_accepted("cut.docx", z.data, z.len,
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
}

static void test_truncated_zip_whose_sizes_follow_the_data_is_refused(void **state) {
  (void)state;
  zip_buf z;
  make_zip(&z, DOCX_NAMES, 3, false, true);
  assert_refused("cut.docx", 8, z.data, z.len, "without a word/ part");
}

static void test_central_directory_pointing_outside_the_file_is_refused(void **state) {
  (void)state;
  static const char *const names[] = {"[Content_Types].xml", "xl/workbook.xml"};
  zip_buf z;
  make_zip(&z, names, 2, true, false);
  /* cd_size in the end record made huge: the record is ignored, local headers have no word/. */
  z.data[z.len - 10] = 0xFF;
  z.data[z.len - 9] = 0xFF;
  assert_refused("x.docx", 6, z.data, z.len, "does not match");
}

static void test_zip_magic_alone_is_not_a_docx(void **state) {
  (void)state;
  static const unsigned char magic[] = {0x50, 0x4B, 0x03, 0x04};
  assert_refused("x.docx", 6, magic, sizeof magic, "does not match");
}

/* ---- names ---- */

static void test_name_without_extension_is_refused(void **state) {
  (void)state;
  assert_refused("screenshot", 10, PNG, sizeof PNG, "has no extension");
  assert_refused("screenshot.", 11, PNG, sizeof PNG, "has no extension");
  assert_refused(".png", 4, PNG, sizeof PNG, "nothing before its extension");
}

static void test_disallowed_extensions_are_refused(void **state) {
  (void)state;
  assert_refused("x.exe", 5, EXE, sizeof EXE, "type .exe is not allowed");
  assert_refused("x.svg", 5, PNG, sizeof PNG, "type .svg is not allowed");
  assert_refused("x.txt", 5, PNG, sizeof PNG,
                 "not allowed; allowed: jpg, jpeg, png, gif, pdf, doc, docx");
  assert_refused("x.png ", 6, PNG, sizeof PNG, "not allowed");
  assert_refused("x.pngx", 6, PNG, sizeof PNG, "not allowed");
}

static void test_double_extension_ending_in_exe_is_refused(void **state) {
  (void)state;
  assert_refused("x.png.exe", 9, PNG, sizeof PNG, "type .exe is not allowed");
}

static void test_executable_extension_hidden_before_an_allowed_one_is_refused(void **state) {
  (void)state;
  assert_refused("invoice.exe.pdf", 15, PDF, sizeof PDF - 1, "hides a .exe extension before .pdf");
  assert_refused("a.JS.png", 8, PNG, sizeof PNG, "hides a .js extension");
  assert_refused("a.scr.v2.png", 12, PNG, sizeof PNG, "hides a .scr extension");
}

static void test_path_separators_in_the_name_are_refused(void **state) {
  (void)state;
  assert_refused("../etc/x.png", 12, PNG, sizeof PNG, "must not contain '/' or '\\'");
  assert_refused("C:\\temp\\x.png", 13, PNG, sizeof PNG, "must not contain '/' or '\\'");
}

static void test_control_and_direction_characters_in_the_name_are_refused(void **state) {
  (void)state;
  assert_refused("a\nb.png", 7, PNG, sizeof PNG, "control or text-direction characters");
  assert_refused("a\tb.png", 7, PNG, sizeof PNG, "control");
  assert_refused("a\x7f.png", 6, PNG, sizeof PNG, "control");
  assert_refused("a\xc2\x85.png", 7, PNG, sizeof PNG, "control");           /* U+0085 NEL */
  assert_refused("x\xe2\x80\xaegnp.exe", 12, PNG, sizeof PNG, "direction"); /* U+202E RLO */
  assert_refused("x\xe2\x81\xa6y.png", 9, PNG, sizeof PNG, "direction");    /* U+2066 LRI */
  static const char with_nul[] = {'a', '\0', 'b', '.', 'p', 'n', 'g'};
  assert_refused(with_nul, sizeof with_nul, PNG, sizeof PNG, "control");
}

static void test_invalid_utf8_in_the_name_is_refused(void **state) {
  (void)state;
  assert_refused("a\xff.png", 6, PNG, sizeof PNG, "not valid UTF-8");
  assert_refused("a\xc0\xaf.png", 7, PNG, sizeof PNG, "not valid UTF-8");     /* overlong '/' */
  assert_refused("a\xed\xa0\x80.png", 8, PNG, sizeof PNG, "not valid UTF-8"); /* surrogate */
}

static void test_name_of_255_bytes_is_accepted_and_256_refused(void **state) {
  (void)state;
  char name[300];
  /* 125 two-byte characters (250 bytes) + "a.png" = 255 bytes. */
  size_t n = 0;
  for (int i = 0; i < 125; i++) {
    name[n++] = (char)0xC3;
    name[n++] = (char)0xA9; /* é */
  }
  memcpy(name + n, "a.png", 5);
  n += 5;
  name[n] = '\0';
  assert_int_equal(n, 255);
  assert_accepted(name, PNG, sizeof PNG, "image/png");
  memmove(name + 1, name, n + 1);
  name[0] = 'b';
  assert_refused(name, 256, PNG, sizeof PNG, "is 256 bytes; at most 255");
}

static void test_empty_name_is_refused(void **state) {
  (void)state;
  assert_refused("", 0, PNG, sizeof PNG, "file name is empty");
  assert_refused(NULL, 0, PNG, sizeof PNG, "file name is empty");
}

static void test_describe_names_common_formats(void **state) {
  (void)state;
  assert_string_equal(file_type_describe(EXE, sizeof EXE), "a Windows executable");
  static const unsigned char elf[] = {0x7f, 'E', 'L', 'F', 0x02};
  assert_string_equal(file_type_describe(elf, sizeof elf), "an ELF executable");
  assert_string_equal(file_type_describe((const unsigned char *)"#!/bin/sh", 9), "a script");
  assert_string_equal(file_type_describe((const unsigned char *)"hello", 5), "an unknown format");
  assert_string_equal(file_type_describe(NULL, 0), "empty");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_allowed_type_with_its_signature_gets_its_content_type),
      cmocka_unit_test(test_extensions_are_case_insensitive),
      cmocka_unit_test(test_dots_and_unicode_in_the_name_are_fine),
      cmocka_unit_test(test_kind_is_reported),
      cmocka_unit_test(test_renamed_exe_posing_as_png_is_refused),
      cmocka_unit_test(test_png_content_named_jpg_is_refused),
      cmocka_unit_test(test_pdf_named_doc_and_doc_named_docx_are_refused),
      cmocka_unit_test(test_signature_one_byte_short_is_refused),
      cmocka_unit_test(test_empty_content_is_refused),
      cmocka_unit_test(test_zip_without_a_word_part_is_not_a_docx),
      cmocka_unit_test(test_docx_is_recognised_from_local_headers_without_a_central_directory),
      cmocka_unit_test(test_truncated_zip_whose_sizes_follow_the_data_is_refused),
      cmocka_unit_test(test_central_directory_pointing_outside_the_file_is_refused),
      cmocka_unit_test(test_zip_magic_alone_is_not_a_docx),
      cmocka_unit_test(test_name_without_extension_is_refused),
      cmocka_unit_test(test_disallowed_extensions_are_refused),
      cmocka_unit_test(test_double_extension_ending_in_exe_is_refused),
      cmocka_unit_test(test_executable_extension_hidden_before_an_allowed_one_is_refused),
      cmocka_unit_test(test_path_separators_in_the_name_are_refused),
      cmocka_unit_test(test_control_and_direction_characters_in_the_name_are_refused),
      cmocka_unit_test(test_invalid_utf8_in_the_name_is_refused),
      cmocka_unit_test(test_name_of_255_bytes_is_accepted_and_256_refused),
      cmocka_unit_test(test_empty_name_is_refused),
      cmocka_unit_test(test_describe_names_common_formats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
