/* Every limit of the ticket service's inputs, in one place; tickets.proto documents the same
 * numbers on its fields. Text limits count characters (UTF-8 code points, as hd_utf8_valid
 * counts them), not bytes; the schema's columns are sized for them at 4 bytes a character. */
#ifndef TICKETS_TICKET_LIMITS_H
#define TICKETS_TICKET_LIMITS_H

#define TICKET_IDEMPOTENCY_KEY_MAX   128 /* CreateTicket.idempotency_key, 1.. */
#define TICKET_USER_ID_MAX           128 /* customer_id, owner_id, assignee_id (= HD_USER_ID_MAX) */
#define TICKET_SUBJECT_MAX           200 /* 1.. */
#define TICKET_TEXT_MAX              20000 /* description, reply or comment body, record, note */
#define TICKET_PRODUCT_MAX           100
#define TICKET_BRAND_MAX             100
#define TICKET_DEPARTMENT_MAX        64
#define TICKET_TASK_TITLE_MAX        200
#define TICKET_CONSENT_WORDS_MAX     2000
#define TICKET_REMINDER_TARGET_MAX   200
#define TICKET_REVIEW_LINK_MAX       500                /* an https:// URL */
#define TICKET_MERGE_SOURCES_MAX     20                 /* MergeTickets.source_ticket_ids, 1.. */
#define TICKET_ATTACHMENTS_MAX       5                  /* per ticket */
#define TICKET_ATTACHMENT_BYTES_MAX  (5L * 1024 * 1024) /* per ticket, all attachments together */
#define TICKET_FOLLOW_UPS_DEFAULT    3 /* the last unanswered follow-up → TO_BE_CONFIRMED */
#define TICKET_AUTO_CLOSE_DEFAULT_US (3LL * 24 * 3600 * 1000000) /* TO_BE_CONFIRMED → CLOSED */

#endif
