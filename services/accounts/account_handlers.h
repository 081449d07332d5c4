/* The accounts service's handlers, one group per file (accounts.proto documents each RPC). The
 * method table in service.c maps names to these and says which roles each requires. */
#ifndef ACCOUNTS_ACCOUNT_HANDLERS_H
#define ACCOUNTS_ACCOUNT_HANDLERS_H

#include "rpc/server.h"

/* handlers_account.c: the account and what it holds. */
int accounts_create_account(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_get_account(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_add_service(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_add_resource(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_release_resource(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_add_bill(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_settle_bill(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_verify_account_service(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp);

/* handlers_phone.c and handlers_payment.c. */
int accounts_bind_phone(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_add_payment_method(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int accounts_list_payment_methods(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp);

/* handlers_contact.c: contact changes by approval. */
int accounts_request_contact_change(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp);
int accounts_endorse_contact_change(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp);
int accounts_approve_contact_change(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp);
int accounts_reject_contact_change(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp);
int accounts_get_contact_change(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* handlers_deletion.c. */
int accounts_check_account_deletion(hd_call *call, const ProtobufCMessage *req,
                                    ProtobufCMessage *resp);
int accounts_delete_account(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* handlers_upgrade.c: personal → enterprise. */
int accounts_request_enterprise_upgrade(hd_call *call, const ProtobufCMessage *req,
                                        ProtobufCMessage *resp);
int accounts_complete_enterprise_upgrade(hd_call *call, const ProtobufCMessage *req,
                                         ProtobufCMessage *resp);

/* handlers_risk.c: the risk-control catalog and an account's codes. */
int accounts_lookup_risk_control(hd_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage *resp);
int accounts_upsert_risk_control_code(hd_call *call, const ProtobufCMessage *req,
                                      ProtobufCMessage *resp);
int accounts_set_account_risk_control(hd_call *call, const ProtobufCMessage *req,
                                      ProtobufCMessage *resp);

/* handlers_card_refund.c: the card verification charge and its refund. */
int accounts_check_card_verification_refund(hd_call *call, const ProtobufCMessage *req,
                                            ProtobufCMessage *resp);
int accounts_mark_card_verification_refunded(hd_call *call, const ProtobufCMessage *req,
                                             ProtobufCMessage *resp);

/* handlers_service_action.c: work on a customer's hosting service under the SOP's policy. */
int accounts_check_service_action(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp);
int accounts_list_service_action_rules(hd_call *call, const ProtobufCMessage *req,
                                       ProtobufCMessage *resp);
int accounts_upsert_service_action_rule(hd_call *call, const ProtobufCMessage *req,
                                        ProtobufCMessage *resp);
int accounts_record_service_action(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp);
int accounts_record_service_action_cleanup(hd_call *call, const ProtobufCMessage *req,
                                           ProtobufCMessage *resp);
int accounts_list_service_actions(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp);

#endif
