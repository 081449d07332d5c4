/* The routing service's handlers, one group per topic file; service.c puts them in the method
 * table with the roles each requires. Each reads its request, fills its reply, and returns 0, or
 * -1 with call->err set. */
#ifndef ROUTING_ROUTING_HANDLERS_H
#define ROUTING_ROUTING_HANDLERS_H

#include "rpc/server.h"

/* departments.c */
int routing_list_departments(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);
int routing_upsert_department(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);

/* routing_rules.c, route_ticket.c */
int routing_list_routing_rules(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);
int routing_upsert_routing_rule(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);
int routing_route_ticket(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);

/* agents.c */
int routing_upsert_agent(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);
int routing_list_agents(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);
int routing_set_presence(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);
int routing_get_agent_load(hd_call *call, const ProtobufCMessage *rq, ProtobufCMessage *rs);

/* watch_escalations.c: WatchEscalations, the escalations' change feed (a stream, rpc/stream.h). */
int routing_watch_escalations(hd_call *call, hd_stream *st, const ProtobufCMessage *rq);

#endif
