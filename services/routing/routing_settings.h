/* A tenant's routing settings: the customer-visible wording of escalations (routing_settings
 * table; no row = the defaults), GetRoutingSettings / UpdateRoutingSettings, and the one place a
 * template becomes a comment. */
#ifndef ROUTING_ROUTING_SETTINGS_H
#define ROUTING_ROUTING_SETTINGS_H

#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "rpc/server.h"

#define ROUTING_TEMPLATE_MAX 2000

#define ROUTING_DEFAULT_ASSIGNED_TEMPLATE                                                   \
  "Your request is now being handled by our {department} team. We will update you as soon " \
  "as we know more."
#define ROUTING_DEFAULT_RESOLVED_TEMPLATE \
  "Our {department} team has resolved the issue: {resolution}"

/* tenant's settings (the defaults, version 0, when never set). *out in arena. */
int routing_settings_get(hd_db *db, const char *tenant, hd_arena *arena,
                         Helpdesk__V1__RoutingSettings **out, hd_err *err);

/* The template with "{department}", "{ticket_id}" and "{resolution}" replaced (resolution may be
 * NULL: then left as it is). The result in arena, cut at the ticket service's comment limit
 * (20,000 characters is far above what 2,000 characters of template and 5,000 of resolution
 * give). RESOURCE_EXHAUSTED when the arena is full. */
int routing_template_render(const char *tmpl, const char *department, int64_t ticket_id,
                            const char *resolution, hd_arena *arena, char **out, hd_err *err);

/* The handlers (service.c's method table). */
int routing_get_routing_settings(hd_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage *resp);
int routing_update_routing_settings(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp);

#endif
