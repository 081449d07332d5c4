/* A recorded service action's work on the ticket and in routing (service_action_effects.h). */
#include "service_action_effects.h"

#include <inttypes.h>
#include <string.h>

#include "account_call.h"
#include "account_store.h"
#include "log/log.h"
#include "service_action_peers.h"

char *sa_escalation_key(hd_arena *arena, int64_t id) {
  return hd_arena_printf(arena, SA_ESCALATION_KEY_PFX "%" PRId64, id);
}

static const char *fx__name(const ProtobufCEnumDescriptor *d, int v) {
  return account_enum_name(d, v);
}

typedef struct fx__set {
  hd_call *call;
  int64_t id;
  const char *column; /* set_sent's column, or NULL: last_error = error */
  int64_t value;
  const char *error;
} fx__set;

static int fx__set_tx(hd_db *db, void *arg, hd_err *err) {
  fx__set *x = arg;
  const char *tenant = ac_tenant(x->call);
  if (!x->column) return sa_store_set_error(db, tenant, x->id, x->error, err);
  return sa_store_set_sent(db, tenant, x->id, x->column, x->value, NULL, err);
}

/* Keeps a result (column = value) or an error on the row; a failure to keep it is logged. */
static void fx__keep(hd_call *c, int64_t id, const char *column, int64_t value, const char *error) {
  fx__set x = {.call = c, .id = id, .column = column, .value = value, .error = error};
  if (hd_call_tx(c, fx__set_tx, &x))
    hd_log_warn("accounts.service_action_keep_failed", "reason", c->err.msg);
}

/* "CHANGE_DNS on SHARED service 12 of account cust-1", in arena. */
static char *fx__what(hd_call *c, const Helpdesk__V1__ServiceActionRecord *r) {
  const char *mod = fx__name(&helpdesk__v1__service_action_modifier__descriptor, (int)r->modifier);
  return hd_arena_printf(c->arena, "%s%s%s%s on %s service %" PRId64 " of account %s",
                         fx__name(&helpdesk__v1__service_action__descriptor, (int)r->action),
                         mod[0] ? " (" : "", mod, mod[0] ? ")" : "",
                         fx__name(&helpdesk__v1__hosting_type__descriptor, (int)r->hosting_type),
                         r->service_id, r->uid);
}

/* What the receiving department is asked, from the row alone (no clock), so that every send of
 * one escalation is the same request under its key. */
static char *fx__context(hd_call *c, const Helpdesk__V1__ServiceActionRecord *r) {
  const char *why =
      r->verdict == HELPDESK__V1__SERVICE_ACTION_VERDICT__SERVICE_ACTION_VERDICT_ESCALATE
          ? hd_arena_printf(c->arena, "The SOP says to escalate it (rule %s).", r->rule_id)
          : hd_arena_printf(
                c->arena, "The restore of the backup of %s (%s%s%s) failed.",
                r->restore ? r->restore->backup_date : "?",
                r->restore
                    ? fx__name(&helpdesk__v1__restore_scope__descriptor, (int)r->restore->scope)
                    : "",
                r->restore && r->restore->what[0] ? ": " : "", r->restore ? r->restore->what : "");
  return hd_arena_printf(c->arena,
                         "Service action %" PRId64 " on ticket %" PRId64
                         ": %s. %s What the agent (%s) did and saw: %s",
                         r->id, r->ticket_id, fx__what(c, r), why ? why : "", r->recorded_by,
                         r->description);
}

/* The internal record of the action, from the row. */
static char *fx__note(hd_call *c, const Helpdesk__V1__ServiceActionRecord *r) {
  char *s = hd_arena_printf(
      c->arena, "Service action %" PRId64 " by %s: %s, outcome %s. Rule %s: %s", r->id,
      r->recorded_by, fx__what(c, r),
      fx__name(&helpdesk__v1__service_action_outcome__descriptor, (int)r->outcome), r->rule_id,
      fx__name(&helpdesk__v1__service_action_verdict__descriptor, (int)r->verdict));
  if (s && r->consent_id)
    s = hd_arena_printf(c->arena, "%s, with the customer's consent %" PRId64, s, r->consent_id);
  if (s) s = hd_arena_printf(c->arena, "%s.\nWhat was done: %s", s, r->description);
  if (s && r->restore)
    s = hd_arena_printf(c->arena, "%s\nRestore: the backup of %s, %s%s%s.", s,
                        r->restore->backup_date,
                        fx__name(&helpdesk__v1__restore_scope__descriptor, (int)r->restore->scope),
                        r->restore->what[0] ? ": " : "", r->restore->what);
  if (s && r->email_test) {
    const Helpdesk__V1__EmailTest *e = r->email_test;
    s = hd_arena_printf(c->arena, "%s\nEmail test to %s (%s)%s%s: %s. Screenshot %s", s,
                        e->target_address,
                        fx__name(&helpdesk__v1__email_test_target__descriptor, (int)e->target),
                        e->dummy_account[0] ? " from the dummy mailbox " : "", e->dummy_account,
                        e->result, e->screenshot_filename);
    if (s && r->attachment_id)
      s = hd_arena_printf(c->arena, "%s attached (attachment %" PRId64 ").", s, r->attachment_id);
    else if (s)
      s = hd_arena_printf(c->arena, "%s to be attached.", s);
  }
  if (s && r->escalation_department[0])
    s = hd_arena_printf(c->arena, "%s\nEscalated to %s (routing escalation %" PRId64 ").", s,
                        r->escalation_department, r->routing_escalation_id);
  if (s && r->cleanup ==
               HELPDESK__V1__SERVICE_ACTION_CLEANUP__SERVICE_ACTION_CLEANUP_DELETE_DUMMY_ACCOUNT)
    s = hd_arena_printf(c->arena, "%s\nOwed: the deletion of the dummy mailbox %s after the test.",
                        s, r->email_test ? r->email_test->dummy_account : "");
  if (s && r->cleanup == HELPDESK__V1__SERVICE_ACTION_CLEANUP__SERVICE_ACTION_CLEANUP_REVERT_CHANGE)
    s = hd_arena_printf(c->arena,
                        "%s\nOwed: the revert of this change to its original state after the "
                        "check.",
                        s);
  return s;
}

/* Re-reads row; on failure logs and leaves it. */
static void fx__reread(hd_call *c, sa_row *row) {
  sa_row again = {0};
  hd_err err = {0};
  if (sa_store_get(ac_db(c), ac_tenant(c), row->rec->id, false, c->arena, &again, &err))
    hd_log_warn("accounts.service_action_reread_failed", "reason", err.msg);
  else
    *row = again;
}

void sa_effects_run(hd_call *c, sa_row *row) {
  const hd_err keep = c->err;
  Helpdesk__V1__ServiceActionRecord *r = row->rec;
  const char *error = NULL;
  hd_err err = {0};
  if (r->email_test && r->attachment_id == 0) {
    void *data = NULL;
    size_t len = 0;
    int64_t id = 0;
    if (sa_store_screenshot(ac_db(c), ac_tenant(c), r->id, c->arena, &data, &len, &err) ||
        (len &&
         sa_peer_attach(c, r->ticket_id, r->email_test->screenshot_filename, data, len, &id, &err)))
      error = hd_arena_printf(c->arena, "attaching the screenshot: %s", err.msg);
    else if (id) {
      fx__keep(c, r->id, "attachment_id", id, NULL);
      r->attachment_id = id;
    }
  }
  if (r->escalation_department[0] && r->routing_escalation_id == 0) {
    const Helpdesk__V1__EscalationMode mode =
        strcmp(row->escalation_mode, "CONSULT") == 0
            ? HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT
            : HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_ASSIGN;
    const char *context = fx__context(c, r);
    const char *key = sa_escalation_key(c->arena, r->id);
    int64_t id = 0;
    if (!context || !key)
      error = "out of memory writing the escalation";
    else if (sa_peer_escalate(c, r->ticket_id, r->escalation_department, mode, context, key, &id,
                              &err))
      error = hd_arena_printf(c->arena, "escalating to %s: %s", r->escalation_department, err.msg);
    else {
      fx__keep(c, r->id, "routing_escalation_id", id, NULL);
      r->routing_escalation_id = id;
    }
  }
  if (r->internal_record_id == 0) {
    const char *note = fx__note(c, r);
    int64_t id = 0;
    if (!note)
      error = "out of memory writing the internal record";
    else if (sa_peer_record(c, r->ticket_id, note, &id, &err))
      error = hd_arena_printf(c->arena, "writing the internal record: %s", err.msg);
    else
      fx__keep(c, r->id, "internal_record_id", id, NULL);
  }
  if (error) {
    hd_log_warn("accounts.service_action_pending", "reason", error);
    fx__keep(c, r->id, NULL, 0, error);
  }
  fx__reread(c, row);
  c->err = keep;
}

void sa_effects_cleanup(hd_call *c, sa_row *row) {
  const hd_err keep = c->err;
  const Helpdesk__V1__ServiceActionRecord *r = row->rec;
  if (!r->cleanup_time_us || row->cleanup_record_id) return;
  const bool dummy =
      r->cleanup ==
      HELPDESK__V1__SERVICE_ACTION_CLEANUP__SERVICE_ACTION_CLEANUP_DELETE_DUMMY_ACCOUNT;
  const char *note = hd_arena_printf(
      c->arena, "Clean-up of service action %" PRId64 " (%s) by %s: %s%s. %s", r->id,
      fx__what(c, r), ac_actor(c).user_id, dummy ? "the dummy mailbox was deleted: " : "",
      dummy && r->email_test ? r->email_test->dummy_account
                             : "the change was reverted to its original state",
      r->cleanup_note);
  hd_err err = {0};
  int64_t id = 0;
  if (!note || sa_peer_record(c, r->ticket_id, note, &id, &err))
    fx__keep(c, r->id, NULL, 0,
             hd_arena_printf(c->arena, "writing the clean-up's internal record: %s",
                             note ? err.msg : "out of memory"));
  else
    fx__keep(c, r->id, "cleanup_record_id", id, NULL);
  fx__reread(c, row);
  c->err = keep;
}
