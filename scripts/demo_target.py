"""demo_target.py WORKDIR — the sample program scripts/demo looks at.

A small in-memory "order book" service: it loads customers and orders,
keeps a cache of rendered receipts, then keeps serving (updating totals)
until WORKDIR/stop appears, prints its result and exits 0.  It writes
WORKDIR/ready once it has loaded its data, so the demo knows when to attach.
"""

import os
import sys
import time


class Customer:
    def __init__(self, cid, name):
        self.cid = cid
        self.name = name
        self.orders = []


class Order:
    __slots__ = ("oid", "customer", "items", "total")

    def __init__(self, oid, customer, items):
        self.oid = oid
        self.customer = customer
        self.items = items
        self.total = sum(price for _, price in items)


def load(n_customers=2000, orders_each=5):
    customers = {}
    for c in range(n_customers):
        cust = Customer(c, "customer-%05d" % c)
        for k in range(orders_each):
            items = [("sku-%d" % ((c * 7 + k * 3 + j) % 997), (c + j) % 50 + 1)
                     for j in range(3)]
            cust.orders.append(Order(c * orders_each + k, cust, items))
        customers[c] = cust
    receipts = {o.oid: "receipt %d for %s: %d" % (o.oid, cust.name, o.total)
                for cust in customers.values() for o in cust.orders}
    return customers, receipts


def main(wdir):
    customers, receipts = load()
    with open(os.path.join(wdir, "ready.tmp"), "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(os.path.join(wdir, "ready.tmp"), os.path.join(wdir, "ready"))
    served = 0
    deadline = time.monotonic() + 600
    while not os.path.exists(os.path.join(wdir, "stop")) and time.monotonic() < deadline:
        cust = customers[served % len(customers)]
        cust.orders[served % len(cust.orders)].total += 1
        served += 1
        time.sleep(0.01)
    revenue = sum(o.total for c in customers.values() for o in c.orders)
    print("demo target: served %d requests, %d receipts cached, revenue %d"
          % (served, len(receipts), revenue))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
