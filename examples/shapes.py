import math


def area(r):
    return 3.14159 * r * r


def describe(shapes):
    out = []
    for s in shapes:
        if s["kind"] == "circle":
            out.append("circle of area " + str(area(s["r"])))
        else:
            if s["kind"] == "square":
                out.append("square of area " + str(s["side"] * s["side"]))
    return out


class Cart:
    def __init__(self):
        self.items = []

    def total(self, items):
        t = 0
        for i in items:
            t = t + i.price * i.qty
        return t


def hypotenuse(a, b):
    return math.sqrt(a * a + b * b)
