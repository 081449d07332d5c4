/* Escalation to Level 2 (SOP 3.3): EscalateToLevel2 moves a ticket to the ESCALATED department
 * with the internal note carrying the investigation details. The ticket service refuses any
 * other move to ESCALATED without such a note (services/tickets/handlers_owner.c). */
#ifndef ROUTING_LEVEL2_H
#define ROUTING_LEVEL2_H

#include "rpc/server.h"

int routing_escalate_to_level2(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

#endif
