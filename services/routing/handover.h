/* The shift hand-over (seed 000, answer 3; SOP 1.3): HandOverShift moves every open ticket an
 * agent owns to the team of its issue type, each with a hand-over note written to the ticket,
 * and makes the agent OFF_DUTY; GetHandOver shows the next shift (and the agent, the next day)
 * what was handed over and how each ticket stands now. */
#ifndef ROUTING_HANDOVER_H
#define ROUTING_HANDOVER_H

#include "rpc/server.h"

#define HANDOVER_NOTES_MAX 500
#define HANDOVER_NOTE_MAX  20000
#define HANDOVER_EVENT     "routing.hand_over"

int routing_hand_over_shift(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int routing_get_hand_over(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

#endif
