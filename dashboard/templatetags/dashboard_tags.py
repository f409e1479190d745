from django import template

from orders.carriers import tracking_url as carrier_tracking_url

register = template.Library()


@register.simple_tag
def tracking_url(order):
    return carrier_tracking_url(order.carrier, order.tracking_number)


@register.filter
def is_stuck_at(order, now):
    return order.is_stuck(now)


@register.filter
def is_late_at(order, now):
    return order.is_late(now)


@register.filter
def split_words(value):
    return value.split()


@register.filter
def field(form, name):
    return form[name]


@register.filter
def attr_label(form, name):
    return form.fields[name].label if name in form.fields else name
