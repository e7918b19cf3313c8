#!/usr/bin/env python3
"""Gives a fresh Kehu server records of every kind, so that schemathesis checks real answers
against the OpenAPI document rather than 404s: customer property from notice to abnormality and
count, a consignment and a custody agreement with goods, an attachment.

Usage: openapi_seed.py BASE_URL ADMIN_TOKEN REP_TOKEN KEEPER_TOKEN QUALITY_TOKEN FINANCE_TOKEN
Standard library only; any failed step stops with the answer it got.
"""
import json
import sys
import urllib.request
import uuid


def call(base, token, method, path, body=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: {e.code} {e.read().decode()[:500]}")


def multipart(fields, file_name, file_bytes):
    boundary = uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    out += file_bytes + f"\r\n--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def main():
    base, admin, rep, keeper, quality, finance = sys.argv[1:7]
    customer = call(base, rep, "POST", "/api/v1/customers",
                    {"full_name": "宁波海曙精密模具有限公司", "customer_type": "dealer",
                     "contact_name": "陈工", "contact_phone": "13900001234"})
    cid = customer["id"]
    pdf = b"%PDF-1.4 seed"
    body, ctype = multipart({"kind": "business_licence"}, "licence.pdf", pdf)
    call(base, rep, "POST", f"/api/v1/customers/{cid}/attachments", raw=body, content_type=ctype)
    call(base, rep, "POST", f"/api/v1/customers/{cid}/visit-plans",
         {"planned_on": "2199-01-01", "purpose": "回访"})
    # Customer property: notice → receipt → report and verification → register → issue.
    notice = call(base, rep, "POST", "/api/v1/property/notices",
                  {"customer_id": cid, "order_no": "SO-1", "expected_on": "2026-12-31",
                   "lines": [{"kind": "raw_material", "item_name": "PA66 粒料", "quantity": 100, "unit": "kg"}]})
    items = call(base, keeper, "POST", f"/api/v1/property/notices/{notice['id']}/receive",
                 {"line_id": notice["lines"][0]["id"], "quantity": 100, "packaging_ok": True, "lot_no": "L-1"})
    item = items[0]
    body, ctype = multipart({"kind": "report", "note": "IQC-1"}, "report.pdf", pdf)
    doc = call(base, quality, "POST", f"/api/v1/property/items/{item['id']}/documents", raw=body,
               content_type=ctype)
    item = call(base, quality, "POST", f"/api/v1/property/items/{item['id']}/verify",
                {"verdict": "accepted", "report_document_id": doc["id"], "version": item["version"]})
    item = call(base, keeper, "POST", f"/api/v1/property/items/{item['id']}/register",
                {"location": "KG-A01", "version": item["version"]})
    call(base, keeper, "POST", f"/api/v1/property/items/{item['id']}/move",
         {"kind": "issue", "quantity": 10, "from_location": "KG-A01", "order_no": "WO-1"})
    abn = call(base, keeper, "POST", f"/api/v1/property/items/{item['id']}/abnormalities",
               {"kind": "damaged", "description": "外箱压损", "quantity": 1})
    call(base, rep, "POST", f"/api/v1/property/abnormalities/{abn['id']}/notify",
         {"notification": "电话通知采购"})
    call(base, keeper, "POST", f"/api/v1/property/items/{item['id']}/counts",
         {"location": "KG-A01", "counted_qty": 88})
    # Consignment and custody with goods.
    a = call(base, rep, "POST", "/api/v1/property/consignment",
             {"customer_id": cid, "start_date": "2026-01-01", "end_date": "2026-12-31"})
    a = call(base, keeper, "POST", f"/api/v1/property/consignment/{a['id']}/receipts",
             {"item": "保温杯", "spec": "500ml", "unit": "个", "quantity": "10", "unit_price": "120.00",
              "received_at": "2026-01-05"})
    call(base, rep, "POST", f"/api/v1/property/consignment/{a['id']}/sales",
         {"item_id": a["stock"][0]["item_id"], "quantity": "2", "amount": "240.00", "sold_at": "2026-01-15"})
    call(base, finance, "POST", f"/api/v1/property/consignment/{a['id']}/settlements", {"month": "2026-01"})
    k = call(base, rep, "POST", "/api/v1/property/custody",
             {"customer_id": cid, "start_date": "2026-01-15", "monthly_fee": "300.00"})
    call(base, keeper, "POST", f"/api/v1/property/custody/{k['id']}/check-ins",
         {"item": "红木书柜", "unit": "件", "quantity": 10, "moved_on": "2026-01-20"})
    call(base, finance, "POST", f"/api/v1/property/custody/{k['id']}/payments",
         {"amount": "300.00", "paid_on": "2026-02-05"})
    print(f"seeded customer {cid}, property item {item['id']}, consignment {a['id']}, custody {k['id']}")


if __name__ == "__main__":
    main()
