/* TicketService's attachments through real gRPC calls against MariaDB: every allowed type by
 * name and content signature, a renamed executable and other types refused, 5 files and
 * 5 MiB per ticket at the edge and one past it (also under concurrent uploads), bytes that come
 * back identical, who may add and read them, closed tickets, the version, history and event an
 * added file writes, and that every refused call leaves the database exactly as it was.
 *
 * Set-up goes through the real RPCs (ticket_fixture): tickets are opened with CreateTicket and
 * closed with CloseTicket. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svc/idem.h"
#include "ticket_fixture.h"
#include "ticket_store.h"

#define MIB5 5242880L /* TICKET_ATTACHMENT_BYTES_MAX */

/* ---- set-up helpers ---- */

/* A new PENDING_RESPONSE ticket of cust-1 in acme, opened by them. */
static int64_t acme_ticket(tf *t) {
  return tf_create(t, t->customer, NULL, "Screenshots of the error")->id;
}

/* ---- file contents ---- */

typedef enum kind {
  K_JPEG,
  K_PNG,
  K_GIF87,
  K_GIF89,
  K_PDF,
  K_DOC,
  K_DOCX,
  K_EXE,
  K_ELF,
  K_TEXT
} kind;

/* A file of n bytes of kind: its signature as file_type.c checks it, then noise of every byte
 * value (zeros for DOCX, whose tail must not look like a ZIP directory). Caller frees. */
static unsigned char *file_of(kind k, size_t n) {
  static const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF};
  static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  static const unsigned char ole2[] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
  static const unsigned char elf[] = {0x7F, 'E', 'L', 'F'};
  /* A ZIP local file header (30 bytes) whose entry is word/document.xml: the smallest DOCX. */
  static const char docx_name[] = "word/document.xml";
  unsigned char docx[30 + sizeof docx_name - 1] = {'P', 'K', 3, 4, 20};
  docx[26] = (unsigned char)(sizeof docx_name - 1);
  memcpy(docx + 30, docx_name, sizeof docx_name - 1);
  const void *sig = NULL;
  size_t sig_len = 0;
  switch (k) {
    case K_JPEG:
      sig = jpeg, sig_len = sizeof jpeg;
      break;
    case K_PNG:
      sig = png, sig_len = sizeof png;
      break;
    case K_GIF87:
      sig = "GIF87a", sig_len = 6;
      break;
    case K_GIF89:
      sig = "GIF89a", sig_len = 6;
      break;
    case K_PDF:
      sig = "%PDF-1.7\n", sig_len = 9;
      break;
    case K_DOC:
      sig = ole2, sig_len = sizeof ole2;
      break;
    case K_DOCX:
      sig = docx, sig_len = sizeof docx;
      break;
    case K_EXE:
      sig = "MZ\x90\x00\x03\x00\x00\x00", sig_len = 8;
      break;
    case K_ELF:
      sig = elf, sig_len = sizeof elf;
      break;
    case K_TEXT:
      sig = "Hello, this is plain text.\n", sig_len = 27;
      break;
  }
  assert_true(n >= sig_len);
  unsigned char *p = malloc(n);
  assert_non_null(p);
  memcpy(p, sig, sig_len);
  uint32_t x = 2463534242u ^ (uint32_t)n;
  for (size_t i = sig_len; i < n; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    p[i] = k == K_DOCX ? 0 : (unsigned char)x;
  }
  return p;
}

static void sha256_of(const void *p, size_t n, char out[65]) {
  hd_err err = {0};
  assert_int_equal(hd_idem_sha256_hex(p, n, out, &err), 0);
}

/* ---- calls ---- */

static void add_request(Helpdesk__V1__AddAttachmentRequest *req, int64_t id, int64_t version,
                        const char *name, const unsigned char *data, size_t len) {
  *req = (Helpdesk__V1__AddAttachmentRequest)HELPDESK__V1__ADD_ATTACHMENT_REQUEST__INIT;
  req->ticket_id = id;
  req->expected_version = version;
  req->filename = (char *)name;
  req->content.data = (uint8_t *)data;
  req->content.len = len;
}

static hd_code add_file(tf *t, const char *tok, int64_t id, int64_t version, const char *name,
                        const unsigned char *data, size_t len, Helpdesk__V1__Attachment **out,
                        hd_err *err) {
  Helpdesk__V1__AddAttachmentRequest req;
  add_request(&req, id, version, name, data, len);
  return tf_call(t, "AddAttachment", tok, &req.base, &helpdesk__v1__attachment__descriptor, out,
                 err);
}

/* Adds a generated file of kind and n bytes. */
static hd_code add_kind(tf *t, const char *tok, int64_t id, const char *name, kind k, size_t n,
                        Helpdesk__V1__Attachment **out, hd_err *err) {
  unsigned char *p = file_of(k, n);
  const hd_code code = add_file(t, tok, id, 0, name, p, n, out, err);
  free(p);
  return code;
}

static hd_code list_files(tf *t, const char *tok, int64_t id,
                          Helpdesk__V1__ListAttachmentsResponse **out, hd_err *err) {
  Helpdesk__V1__ListAttachmentsRequest req = HELPDESK__V1__LIST_ATTACHMENTS_REQUEST__INIT;
  req.ticket_id = id;
  return tf_call(t, "ListAttachments", tok, &req.base,
                 &helpdesk__v1__list_attachments_response__descriptor, out, err);
}

static hd_code get_file(tf *t, const char *tok, int64_t id, int64_t attachment_id,
                        Helpdesk__V1__GetAttachmentResponse **out, hd_err *err) {
  Helpdesk__V1__GetAttachmentRequest req = HELPDESK__V1__GET_ATTACHMENT_REQUEST__INIT;
  req.ticket_id = id;
  req.attachment_id = attachment_id;
  return tf_call(t, "GetAttachment", tok, &req.base,
                 &helpdesk__v1__get_attachment_response__descriptor, out, err);
}

/* Fails unless attachment a_id of ticket id reads back as data[0..len). */
static void assert_bytes_back(tf *t, const char *tok, int64_t id, int64_t a_id,
                              const unsigned char *data, size_t len) {
  hd_err err;
  Helpdesk__V1__GetAttachmentResponse *g = NULL;
  tf_expect_ok(get_file(t, tok, id, a_id, &g, &err), &err);
  assert_int_equal(g->content.len, len);
  assert_int_equal(memcmp(g->content.data, data, len), 0);
  char sent[65], got[65];
  sha256_of(data, len, sent);
  sha256_of(g->content.data, g->content.len, got);
  assert_string_equal(sent, got);
  assert_string_equal(g->attachment->sha256_hex, sent);
  assert_int_equal(g->attachment->id, a_id);
  assert_int_equal(g->attachment->size_bytes, (int64_t)len);
}

/* ---- group fixture: one service for every test ---- */

static int teardown(void **state) {
  tf_teardown(state);
  hd_db_library_end();
  return 0;
}

/* ---- tests ---- */

static void test_each_allowed_type_is_accepted_by_name_and_signature(void **state) {
  tf *t = *state;
  hd_err err;
  static const struct {
    const char *name;
    kind k;
    size_t n;
    const char *content_type;
  } files[] = {
      {"photo.jpg", K_JPEG, 3, "image/jpeg"}, /* the smallest JPEG the check accepts */
      {"SCAN.JPEG", K_JPEG, 2048, "image/jpeg"},
      {"screen.png", K_PNG, 8, "image/png"},
      {"anim.gif", K_GIF89, 6, "image/gif"},
      {"manual.Pdf", K_PDF, 5000, "application/pdf"},
      {"contract.doc", K_DOC, 8, "application/msword"},
      {"letter.docx", K_DOCX, 47,
       "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"old.gif", K_GIF87, 600, "image/gif"},
  };
  const int64_t tickets[2] = {acme_ticket(t), acme_ticket(t)};
  int64_t ids[8];
  for (size_t i = 0; i < 8; i++) {
    const int64_t id = tickets[i / 5];
    const int64_t v = tf_version(t, id);
    unsigned char *p = file_of(files[i].k, files[i].n);
    char sha[65];
    sha256_of(p, files[i].n, sha);
    Helpdesk__V1__Attachment *a = NULL;
    tf_expect_ok(add_file(t, t->customer, id, v, files[i].name, p, files[i].n, &a, &err), &err);
    assert_int_equal(a->ticket_id, id);
    assert_string_equal(a->filename, files[i].name);
    assert_string_equal(a->content_type, files[i].content_type);
    assert_int_equal(a->size_bytes, (int64_t)files[i].n);
    assert_string_equal(a->sha256_hex, sha);
    assert_string_equal(a->uploaded_by, "cust-1");
    assert_int_equal(a->create_time_us, tf_now(t));
    assert_int_equal(tf_version(t, id), v + 1);
    assert_bytes_back(t, t->agent, id, a->id, p, files[i].n);
    free(p);
    ids[i] = a->id;
    /* A history row names the attachment; the event carries its id, name and size. */
    assert_int_equal(tf_sqlf(t,
                             "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " "
                             "AND action = 'ATTACHMENT' AND field = 'attachment' AND to_value = "
                             "'%" PRId64 "'",
                             id, a->id),
                     1);
    assert_int_equal(tf_sqlf(t,
                             "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                             "event_type = 'ticket.attachment_added' AND JSON_VALUE(payload, "
                             "'$.attachment_id') = %" PRId64 " AND JSON_VALUE(payload, "
                             "'$.filename') = '%s' AND JSON_VALUE(payload, '$.size') = %zu",
                             id, a->id, files[i].name, files[i].n),
                     1);
  }
  /* Listed oldest first, without bytes. */
  for (int k = 0; k < 2; k++) {
    Helpdesk__V1__ListAttachmentsResponse *l = NULL;
    tf_expect_ok(list_files(t, t->customer, tickets[k], &l, &err), &err);
    assert_int_equal(l->n_attachments, k == 0 ? 5 : 3);
    for (size_t i = 0; i < l->n_attachments; i++) {
      const size_t f = (size_t)k * 5 + i;
      assert_int_equal(l->attachments[i]->id, ids[f]);
      assert_string_equal(l->attachments[i]->filename, files[f].name);
      assert_string_equal(l->attachments[i]->content_type, files[f].content_type);
      assert_int_equal(l->attachments[i]->size_bytes, (int64_t)files[f].n);
      assert_string_equal(l->attachments[i]->uploaded_by, "cust-1");
    }
  }
}

static void test_sixth_attachment_is_refused_and_writes_nothing(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  const int64_t v0 = tf_version(t, id);
  for (int i = 0; i < 5; i++) {
    char name[32];
    snprintf(name, sizeof name, "shot-%d.png", i);
    tf_expect_ok(add_kind(t, i % 2 ? t->agent : t->customer, id, name, K_PNG, 100, NULL, &err),
                 &err);
    assert_int_equal(tf_version(t, id), v0 + i + 1);
  }
  char *fp = tf_fingerprint(t);
  char want[96];
  snprintf(want, sizeof want, "ticket %" PRId64 " has 5 attachments; at most 5 are allowed", id);
  tf_expect_code(add_kind(t, t->customer, id, "shot-6.png", K_PNG, 100, NULL, &err), &err,
                 HD_FAILED_PRECONDITION, want);
  assert_string_equal(err.msg, want);
  tf_expect_code(add_kind(t, t->admin, id, "tiny.jpg", K_JPEG, 3, NULL, &err), &err,
                 HD_FAILED_PRECONDITION, want);
  tf_expect_unchanged(t, fp);
  Helpdesk__V1__ListAttachmentsResponse *l = NULL;
  tf_expect_ok(list_files(t, t->customer, id, &l, &err), &err);
  assert_int_equal(l->n_attachments, 5);
}

static void test_exactly_5_mib_in_total_is_accepted_and_one_byte_more_is_refused(void **state) {
  tf *t = *state;
  hd_err err;
  char want[192];
  /* 5,242,877 + a 3-byte JPEG (the smallest valid file) = exactly 5 MiB. */
  const int64_t full = acme_ticket(t);
  tf_expect_ok(add_kind(t, t->customer, full, "big.pdf", K_PDF, MIB5 - 3, NULL, &err), &err);
  tf_expect_ok(add_kind(t, t->customer, full, "dot.jpg", K_JPEG, 3, NULL, &err), &err);
  assert_int_equal(
      tf_sqlf(t, "SELECT SUM(size_bytes) FROM attachments WHERE ticket_id = %" PRId64, full), MIB5);
  char *fp = tf_fingerprint(t);
  snprintf(want, sizeof want,
           "this file (3 bytes) would bring ticket %" PRId64
           "'s attachments to 5,242,883 bytes; at most 5,242,880 are allowed",
           full);
  tf_expect_code(add_kind(t, t->customer, full, "dot2.jpg", K_JPEG, 3, NULL, &err), &err,
                 HD_FAILED_PRECONDITION, want);
  assert_string_equal(err.msg, want);
  tf_expect_unchanged(t, fp);

  /* 5,242,878 + 3 = 5,242,881: one byte past the limit. */
  const int64_t over = acme_ticket(t);
  tf_expect_ok(add_kind(t, t->customer, over, "big.pdf", K_PDF, MIB5 - 2, NULL, &err), &err);
  fp = tf_fingerprint(t);
  snprintf(want, sizeof want,
           "this file (3 bytes) would bring ticket %" PRId64
           "'s attachments to 5,242,881 bytes; at most 5,242,880 are allowed",
           over);
  tf_expect_code(add_kind(t, t->customer, over, "dot.jpg", K_JPEG, 3, NULL, &err), &err,
                 HD_FAILED_PRECONDITION, want);
  tf_expect_unchanged(t, fp);

  /* One file of exactly 5 MiB fits, comes back identical, and leaves no room for 1,024 bytes. */
  const int64_t one = acme_ticket(t), fresh = acme_ticket(t);
  unsigned char *p = file_of(K_PNG, MIB5);
  Helpdesk__V1__Attachment *a = NULL;
  tf_expect_ok(add_file(t, t->customer, one, 0, "huge.png", p, MIB5, &a, &err), &err);
  assert_int_equal(a->size_bytes, MIB5);
  assert_bytes_back(t, t->customer, one, a->id, p, MIB5);
  free(p);
  fp = tf_fingerprint(t);
  snprintf(want, sizeof want,
           "this file (1,024 bytes) would bring ticket %" PRId64
           "'s attachments to 5,243,904 bytes; at most 5,242,880 are allowed",
           one);
  tf_expect_code(add_kind(t, t->customer, one, "more.jpg", K_JPEG, 1024, NULL, &err), &err,
                 HD_FAILED_PRECONDITION, want);
  assert_string_equal(err.msg, want);

  /* One file of 5 MiB + 1 byte can never fit: refused before any database work. */
  tf_expect_code(add_kind(t, t->customer, fresh, "huge.png", K_PNG, MIB5 + 1, NULL, &err), &err,
                 HD_INVALID_ARGUMENT,
                 "this file (5,242,881 bytes) is larger than the 5,242,880 bytes");
  tf_expect_unchanged(t, fp);
}

static void test_a_renamed_executable_and_types_not_allowed_are_refused(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  char *fp = tf_fingerprint(t);
  static const struct {
    const char *name;
    kind k;
    size_t n;
    hd_code code;
    const char *msg;
  } refused[] = {
      {"holiday.png", K_EXE, 4096, HD_INVALID_ARGUMENT,
       "attachment content does not match its .png extension: it is a Windows executable"},
      {"setup.exe", K_EXE, 4096, HD_INVALID_ARGUMENT, "attachment type .exe is not allowed"},
      {"notes.txt", K_TEXT, 27, HD_INVALID_ARGUMENT,
       "attachment type .txt is not allowed; allowed: jpg, jpeg, png, gif, pdf, doc, docx"},
      {"invoice.exe.pdf", K_PDF, 100, HD_INVALID_ARGUMENT, "hides a .exe extension"},
      {"photo.jpg", K_ELF, 100, HD_INVALID_ARGUMENT, "it is an ELF executable"},
      {"report.png", K_PDF, 100, HD_INVALID_ARGUMENT, "it is a PDF document"},
      {"letter.docx", K_PDF, 100, HD_INVALID_ARGUMENT, "does not match its .docx extension"},
      {"../../etc/x.png", K_PNG, 100, HD_INVALID_ARGUMENT, "must not contain '/'"},
      {"noextension", K_PNG, 100, HD_INVALID_ARGUMENT, "has no extension"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    tf_expect_code(
        add_kind(t, t->customer, id, refused[i].name, refused[i].k, refused[i].n, NULL, &err), &err,
        refused[i].code, refused[i].msg);
  tf_expect_code(add_file(t, t->customer, id, 0, "empty.png", NULL, 0, NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "content is empty");
  tf_expect_code(
      add_file(t, t->customer, id, 0, "", (const unsigned char *)"GIF89a", 6, NULL, &err), &err,
      HD_INVALID_ARGUMENT, "file name is empty");
  tf_expect_unchanged(t, fp);
  assert_int_equal(tf_sqlf(t, "SELECT COUNT(*) FROM attachments WHERE ticket_id = %" PRId64, id),
                   0);
}

static void test_attachment_bytes_come_back_identical(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  /* Every byte value, NULs included, after a real PNG signature. */
  const size_t n = (1u << 20) + 77;
  unsigned char *p = file_of(K_PNG, n);
  for (size_t i = 8; i < 8 + 256 * 4; i++) p[i] = (unsigned char)i;
  Helpdesk__V1__Attachment *a = NULL;
  tf_expect_ok(add_file(t, t->agent, id, 0, "binary.png", p, n, &a, &err), &err);
  assert_bytes_back(t, t->customer, id, a->id, p, n);
  assert_bytes_back(t, t->admin, id, a->id, p, n);
  /* The stored hash is of the stored bytes. */
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM attachments WHERE id = %" PRId64 " AND BINARY "
                           "sha256 = BINARY SHA2(data, 256) AND size_bytes = LENGTH(data)",
                           a->id),
                   1);
  free(p);
}

static void test_attachments_are_for_the_tickets_customer_and_staff_of_its_tenant(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t), sibling = acme_ticket(t);
  const char *writers[] = {t->customer, t->agent2, t->lead, t->admin, t->service};
  const char *uploaders[] = {"cust-1", "agent-2", "lead-1", "admin-1", "svc-router"};
  int64_t ids[5];
  for (int i = 0; i < 5; i++) {
    Helpdesk__V1__Attachment *a = NULL;
    tf_expect_ok(add_kind(t, writers[i], id, "shot.gif", K_GIF89, 64, &a, &err), &err);
    assert_string_equal(a->uploaded_by, uploaders[i]);
    ids[i] = a->id;
  }
  const char *readers[] = {t->customer, t->agent, t->supervisor, t->service};
  for (int i = 0; i < 4; i++) {
    Helpdesk__V1__ListAttachmentsResponse *l = NULL;
    tf_expect_ok(list_files(t, readers[i], id, &l, &err), &err);
    assert_int_equal(l->n_attachments, 5);
    Helpdesk__V1__GetAttachmentResponse *g = NULL;
    tf_expect_ok(get_file(t, readers[i], id, ids[i], &g, &err), &err);
    assert_int_equal(g->content.len, 64);
  }
  /* Another tenant's ticket and attachment. */
  const int64_t foreign = tf_create(t, t->other_tenant, "cust-9", "Their screenshots")->id;
  Helpdesk__V1__Attachment *fa = NULL;
  tf_expect_ok(add_kind(t, t->other_tenant, foreign, "theirs.pdf", K_PDF, 64, &fa, &err), &err);

  char *fp = tf_fingerprint(t);
  const char *hidden[] = {t->customer2, t->other_tenant};
  for (int i = 0; i < 2; i++) {
    tf_expect_code(add_kind(t, hidden[i], id, "x.png", K_PNG, 64, NULL, &err), &err, HD_NOT_FOUND,
                   "not found");
    tf_expect_code(list_files(t, hidden[i], id, NULL, &err), &err, HD_NOT_FOUND, "not found");
    tf_expect_code(get_file(t, hidden[i], id, ids[0], NULL, &err), &err, HD_NOT_FOUND, "not found");
  }
  /* An attachment is read through its own ticket only. */
  char want[96];
  snprintf(want, sizeof want, "attachment %" PRId64 " not found on ticket %" PRId64, ids[0],
           sibling);
  tf_expect_code(get_file(t, t->customer, sibling, ids[0], NULL, &err), &err, HD_NOT_FOUND, want);
  tf_expect_code(get_file(t, t->agent, id, fa->id, NULL, &err), &err, HD_NOT_FOUND, "not found");
  tf_expect_code(get_file(t, t->agent, foreign, fa->id, NULL, &err), &err, HD_NOT_FOUND,
                 "not found");
  tf_expect_code(get_file(t, t->agent, id, 0, NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "attachment_id must be a positive id");
  tf_expect_unchanged(t, fp);
}

static void test_attachments_are_added_to_open_tickets_only(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  Helpdesk__V1__Attachment *a = NULL;
  tf_expect_ok(add_kind(t, t->customer, id, "before.pdf", K_PDF, 64, &a, &err), &err);
  tf_set_status(t, id, TF_STATUS(CLOSED));
  char *fp = tf_fingerprint(t);
  char want[160];
  snprintf(want, sizeof want,
           "ticket %" PRId64 " is CLOSED: attachments are added to open tickets only", id);
  tf_expect_code(add_kind(t, t->customer, id, "after.pdf", K_PDF, 64, NULL, &err), &err,
                 HD_FAILED_PRECONDITION, want);
  tf_expect_code(add_kind(t, t->agent, id, "after.pdf", K_PDF, 64, NULL, &err), &err,
                 HD_FAILED_PRECONDITION, want);
  tf_expect_unchanged(t, fp);
  /* What it has stays readable. */
  Helpdesk__V1__ListAttachmentsResponse *l = NULL;
  tf_expect_ok(list_files(t, t->customer, id, &l, &err), &err);
  assert_int_equal(l->n_attachments, 1);
  Helpdesk__V1__GetAttachmentResponse *g = NULL;
  tf_expect_ok(get_file(t, t->customer, id, a->id, &g, &err), &err);
}

static void test_attachment_with_a_stale_expected_version_is_aborted_and_writes_nothing(
    void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  const int64_t v = tf_version(t, id);
  unsigned char *p = file_of(K_JPEG, 500);
  tf_expect_ok(add_file(t, t->customer, id, v, "a.jpg", p, 500, NULL, &err), &err);
  char *fp = tf_fingerprint(t);
  char want[96];
  snprintf(want, sizeof want, "version is now %" PRId64 ", you sent %" PRId64, v + 1, v);
  tf_expect_code(add_file(t, t->agent, id, v, "b.jpg", p, 500, NULL, &err), &err, HD_ABORTED, want);
  tf_expect_unchanged(t, fp);
  free(p);
}

/* ---- concurrent uploads ---- */

typedef struct racer {
  tf *t;
  pthread_barrier_t *start;
  int64_t ticket_id;
  const unsigned char *data;
  size_t len;
  hd_code code;
  hd_err err;
} racer;

static void *racer__run(void *arg) {
  racer *r = arg;
  hd_arena *a = hd_arena_new(16u << 20);
  Helpdesk__V1__AddAttachmentRequest req;
  add_request(&req, r->ticket_id, 0, "race.pdf", r->data, r->len);
  pthread_barrier_wait(r->start);
  ProtobufCMessage *resp = NULL;
  r->code = HD_OK;
  if (hd_client_call(r->t->f.client, "/helpdesk.v1.TicketService/AddAttachment", r->t->customer, 0,
                     &req.base, &helpdesk__v1__attachment__descriptor, a, &resp, &r->err) != 0)
    r->code = r->err.code;
  hd_arena_free(a);
  return NULL;
}

/* Runs n uploads of data[0..len) to ticket id at once; returns how many succeeded (the others
 * must have been refused for the ticket's limits). */
static int race(tf *t, int64_t id, int n, const unsigned char *data, size_t len) {
  pthread_barrier_t start;
  racer r[8];
  pthread_t th[8];
  assert_true(n <= 8);
  assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)n), 0);
  for (int i = 0; i < n; i++) {
    r[i] = (racer){.t = t, .start = &start, .ticket_id = id, .data = data, .len = len};
    assert_int_equal(pthread_create(&th[i], NULL, racer__run, &r[i]), 0);
  }
  int ok = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    if (r[i].code == HD_OK) {
      ok++;
    } else {
      tf_expect_code(r[i].code, &r[i].err, HD_FAILED_PRECONDITION, "at most");
    }
  }
  pthread_barrier_destroy(&start);
  return ok;
}

static void test_concurrent_uploads_cannot_pass_the_limits_together(void **state) {
  tf *t = *state;
  hd_err err;
  /* Four files on the ticket, six uploads at once: exactly one becomes the fifth. */
  const int64_t id = acme_ticket(t);
  for (int i = 0; i < 4; i++)
    tf_expect_ok(add_kind(t, t->customer, id, "pre.pdf", K_PDF, 100, NULL, &err), &err);
  const int64_t v = tf_version(t, id);
  unsigned char *small = file_of(K_PDF, 100);
  assert_int_equal(race(t, id, 6, small, 100), 1);
  free(small);
  assert_int_equal(tf_sqlf(t, "SELECT COUNT(*) FROM attachments WHERE ticket_id = %" PRId64, id),
                   5);
  assert_int_equal(tf_version(t, id), v + 1);

  /* Three uploads of 2,000,000 bytes at once on an empty ticket: two fit in 5 MiB, three not. */
  const int64_t bytes = acme_ticket(t);
  unsigned char *big = file_of(K_PDF, 2000000);
  assert_int_equal(race(t, bytes, 3, big, 2000000), 2);
  free(big);
  assert_int_equal(
      tf_sqlf(t, "SELECT SUM(size_bytes) FROM attachments WHERE ticket_id = %" PRId64, bytes),
      4000000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_allowed_type_is_accepted_by_name_and_signature),
      cmocka_unit_test(test_sixth_attachment_is_refused_and_writes_nothing),
      cmocka_unit_test(test_exactly_5_mib_in_total_is_accepted_and_one_byte_more_is_refused),
      cmocka_unit_test(test_a_renamed_executable_and_types_not_allowed_are_refused),
      cmocka_unit_test(test_attachment_bytes_come_back_identical),
      cmocka_unit_test(test_attachments_are_for_the_tickets_customer_and_staff_of_its_tenant),
      cmocka_unit_test(test_attachments_are_added_to_open_tickets_only),
      cmocka_unit_test(test_attachment_with_a_stale_expected_version_is_aborted_and_writes_nothing),
      cmocka_unit_test(test_concurrent_uploads_cannot_pass_the_limits_together),
  };
  return cmocka_run_group_tests(tests, tf_setup, teardown);
}
