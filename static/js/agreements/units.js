// The agreement form: "Limit to units" lists only the chosen consumer's units. Progressive
// enhancement: without script every unit is listed (named with its organisation) and the server
// refuses a unit of another organisation (portal/agreements/forms.py).
document.addEventListener("DOMContentLoaded", () => {
  const consumer = document.querySelector("[data-units-for]");
  const group = document.querySelector("[data-units]");
  if (!consumer || !group) return;
  const choose = group.querySelector("[data-units-choose]");
  const none = group.querySelector("[data-units-none]");
  const filter = () => {
    let shown = 0;
    for (const box of group.querySelectorAll("input[data-consumer]")) {
      const own = consumer.value !== "" && box.dataset.consumer === consumer.value;
      const option = box.closest("label")?.parentElement || box.parentElement;
      option.hidden = !own;
      if (!own) box.checked = false; // a unit of another organisation is never sent
      if (own) shown += 1;
    }
    if (choose) choose.hidden = consumer.value !== "";
    if (none) none.hidden = consumer.value === "" || shown > 0;
  };
  consumer.addEventListener("change", filter);
  filter();
});
