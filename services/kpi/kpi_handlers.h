/* The KpiService handlers, one topic per file; the method table in service.c says who may call
 * each. */
#ifndef KPI_KPI_HANDLERS_H
#define KPI_KPI_HANDLERS_H

#include "core/arena.h"
#include "db/db.h"
#include "helpdesk/v1/kpi.pb-c.h"
#include "kpi_config.h"
#include "rpc/server.h"

/* kpi_weights.c */
int kpi_set_category_weights(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* The tenant's weights (the configured defaults, version 0, when never set), in arena. */
int kpi_weights_get(hd_db *db, const char *tenant, const kpi_config *cfg, hd_arena *arena,
                    Helpdesk__V1__CategoryWeights **out, hd_err *err);

/* kpi_satisfaction.c */
int kpi_record_satisfaction(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* kpi_scores.c */
int kpi_record_individual_scores(hd_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage *resp);

/* kpi_reports.c */
int kpi_get_agent_kpi(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int kpi_get_team_summary(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int kpi_get_half_year_review(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* kpi_rebuild.c */
int kpi_rebuild_facts(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

#endif
